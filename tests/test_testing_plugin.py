"""The pytest plugin of ``vectorshift[testing]``, run as users run it: pytest in a subprocess.

Each test writes a small user project with pytester and runs pytest on it in a fresh process,
so the plugin is loaded through its ``pytest11`` entry point, as after ``pip install``.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""

GREETER = """
import os

import pytest
import vectorshift
from vectorshift import Pipeline


def graph():
    pipeline = Pipeline("greeter")
    name = pipeline.add(name="name").input()
    llm = pipeline.add(name="greeting").llm(prompt=name.text, token_delay_ms=0)
    pipeline.add(name="answer").output(llm.response)
    return pipeline
"""

USER_TESTS = (
    GREETER
    + """


def test_sync(vectorshift_local):
    vectorshift_local.script.add(node="greeting", answer="Hello, Ada!")
    pipeline = graph()
    pipeline.save()
    assert pipeline.run({"name": "Ada"})["outputs"] == {"answer": "Hello, Ada!"}
    assert vectorshift_local.prompts("greeting") == ["Ada"]


@pytest.mark.anyio
async def test_async(vectorshift_local, anyio_backend):
    vectorshift_local.script.add(node="greeting", answer=lambda prompt: f"Hi {prompt}")
    pipeline = graph()
    await pipeline.asave()
    result = await pipeline.arun({"name": anyio_backend})
    assert result["outputs"] == {"answer": f"Hi {anyio_backend}"}
    assert [run.status for run in vectorshift_local.runs()] == ["completed"]


@pytest.mark.anyio
async def test_async_shared(vectorshift_local_shared, anyio_backend):
    pipeline = graph()
    await pipeline.asave()
    result = await pipeline.arun({"name": "echoed"})
    assert result["outputs"] == {"answer": "echoed"}
    assert len(vectorshift_local_shared.runs()) == 1


@pytest.mark.parametrize("n", range(3))
def test_shared_isolation(vectorshift_local_shared, n):
    assert Pipeline.list() == []
    graph().save()
    assert vectorshift_local_shared.faults.rules == []
    vectorshift_local_shared.faults.add(path="/nothing", status=500)
    assert os.environ["VECTORSHIFT_API_KEY"] == vectorshift_local_shared.api_key
"""
)


def test_fixtures_serve_sync_asyncio_and_trio_tests(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*8 passed*"])


def test_the_plugin_works_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "-v")
    result.assert_outcomes(passed=8)
    output = result.stdout.str()
    assert "[gw0] " in output and "[gw1] " in output  # both workers ran tests


def test_a_marker_configures_the_fresh_platform(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
import pytest

@pytest.mark.vectorshift_local(
    max_active_runs=1, script=[{"node": "n", "answer": "a"}], assert_all_called=False
)
def test_configured(vectorshift_local):
    assert vectorshift_local.server.config.max_active_runs == 1
    assert [rule.answer for rule in vectorshift_local.script.rules] == ["a"]

def test_default(vectorshift_local):
    assert vectorshift_local.server.config.max_active_runs == 32
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=2)


def test_without_the_extra_the_plugin_adds_nothing(pytester: pytest.Pytester) -> None:
    # Loaded with -p before the installed plugins, this hides uvicorn as a plain install would.
    pytester.makepyfile(no_extra="import sys\nsys.modules['uvicorn'] = None\n")
    pytester.makepyfile(test_user="def test_it(vectorshift_local):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no_extra", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'vectorshift_local' not found*"])
    listed = pytester.runpytest_subprocess("-p", "no_extra", "-p", "no:cacheprovider", "--markers")
    assert "vectorshift_local" not in listed.stdout.str()


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_it(vectorshift_local):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:vectorshift", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)


UNUSED_RULES = (
    GREETER
    + """

def greeter():
    pipeline = graph()
    pipeline.save()
    return pipeline


def test_misspelt_node(vectorshift_local_shared):
    vectorshift_local_shared.script.add(node="greting", answer="Hello!")
    assert greeter().run({"name": "Ada"})["outputs"] == {"answer": "Ada"}


def test_used(vectorshift_local):
    vectorshift_local.script.add(node="greeting", answer="Hello!")
    assert greeter().run({"name": "Ada"})["outputs"] == {"answer": "Hello!"}


@pytest.mark.vectorshift_local(assert_all_called=False)
def test_opted_out_by_marker(vectorshift_local_shared):
    vectorshift_local_shared.script.add(node="nobody", answer="unused")


def test_opted_out_by_attribute(vectorshift_local):
    vectorshift_local.assert_all_called = False
    vectorshift_local.script.add(prompt="never sent", answer="unused")
"""
)


def test_a_script_rule_no_call_used_fails_the_test_at_teardown(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_rules=UNUSED_RULES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_misspelt_node*",
            "*1 script rule(s) of this test answered no LLM call: "
            "ScriptRule(node='greting', answer='Hello!')*assert_all_called*",
        ]
    )


LEFT_OVER_RUN = """
import time

from vectorshift import Pipeline


def slow_pipeline():
    pipeline = Pipeline("slow")
    name = pipeline.add(name="name").input()
    first = pipeline.add(name="first").llm(prompt=name.text, token_delay_ms=0)
    later = pipeline.add(name="later").llm(prompt=first.response, token_delay_ms=0)
    pipeline.add(name="answer").output(later.response)
    pipeline.save()
    return pipeline


def test_1_leaves_a_run_behind(vectorshift_local_shared):
    # "first" takes 1.5 s, so the run is still going when this test ends; its "later" node
    # calls the model while the next test runs.
    vectorshift_local_shared.script.add(node="first", answer="x", token_delay_ms=1500)
    slow_pipeline().start({"name": "left over"})
    time.sleep(0.3)


def test_2_owns_its_rules(vectorshift_local_shared):
    rule = vectorshift_local_shared.script.add(node="later", answers=["mine"])
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:   # the left-over run makes its "later" call meanwhile
        time.sleep(0.05)
    assert rule.answers == ["mine"] and rule.used == 0
    assert slow_pipeline().run({"name": "own"}, timeout=5)["outputs"] == {"answer": "mine"}
"""


def test_a_run_left_over_by_another_test_never_takes_this_tests_rules(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_left_over=LEFT_OVER_RUN)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
