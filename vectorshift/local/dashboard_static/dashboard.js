// The live parts of the vectorshift.local dashboard. Data only ever goes into the page as
// text (textContent, setAttribute of known attributes): model output is untrusted.
"use strict";

const PREFIX = "/_dashboard";

function csrf() {
  const meta = document.querySelector('meta[name="csrf"]');
  return meta ? meta.getAttribute("content") : "";
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

// The runs list: refreshed every second with the same filters.
function runsList() {
  const body = document.getElementById("runs-body");
  const live = document.getElementById("live");
  const params = new URLSearchParams();
  if (document.body.dataset.status) params.set("status", document.body.dataset.status);
  if (document.body.dataset.pipeline) params.set("pipeline", document.body.dataset.pipeline);
  async function refresh() {
    try {
      const answer = await fetch(PREFIX + "/api/runs?" + params, {credentials: "same-origin"});
      if (!answer.ok) throw new Error(String(answer.status));
      const data = await answer.json();
      const rows = data.runs.map((run) => {
        const row = el("tr");
        const link = el("a");
        link.href = PREFIX + "/runs/" + encodeURIComponent(run.task_id);
        link.appendChild(el("code", run.task_id));
        const first = el("td");
        first.appendChild(link);
        const status = el("td");
        status.appendChild(el("span", run.status, "status s-" + run.status));
        row.append(first, el("td", run.pipeline), status, el("td", run.created),
                   el("td", run.duration));
        return row;
      });
      if (rows.length === 0) {
        const row = el("tr", null, "empty");
        const cell = el("td", "No run matches.");
        cell.colSpan = 5;
        row.appendChild(cell);
        rows.push(row);
      }
      body.replaceChildren(...rows);
      live.classList.add("on");
    } catch (error) {
      live.classList.remove("on");
    }
  }
  refresh();
  setInterval(refresh, 1000);
}

// A run's page: its frames as server-sent events, resumed after a drop from the last one seen.
function runPage() {
  const taskId = document.body.dataset.run;
  const wasLive = document.body.dataset.live === "1";
  const stream = document.getElementById("stream");
  const intermediate = document.getElementById("intermediate");
  const state = document.getElementById("stream-state");
  const outputs = new Map();
  const nodes = new Map();
  let lastSeq = 0;
  let source = null;

  function outputBox(name) {
    if (!outputs.has(name)) {
      const box = el("div", null, "stream-output");
      box.appendChild(el("h3", name));
      const pre = el("pre");
      pre.dataset.output = name;
      box.appendChild(pre);
      stream.appendChild(box);
      outputs.set(name, pre);
    }
    return outputs.get(name);
  }

  function nodeValue(name, value) {
    if (nodes.size === 0) intermediate.replaceChildren();
    if (!nodes.has(name)) {
      const box = el("div", null, "stream-output");
      box.appendChild(el("h3", name));
      const pre = el("pre");
      box.appendChild(pre);
      intermediate.appendChild(box);
      nodes.set(name, pre);
    }
    nodes.get(name).textContent =
      typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }

  function onFrame(event) {
    const seq = Number(event.lastEventId);
    if (seq && seq <= lastSeq) return; // already shown (a replay after a resume)
    if (seq) lastSeq = seq;
    const frame = JSON.parse(event.data);
    if (frame.type === "stream") {
      if (frame.node_id) {
        nodeValue(frame.output_name, frame.output_value);
      } else {
        const pre = outputBox(frame.output_name);
        const value = frame.output_value;
        pre.textContent += typeof value === "string" ? value : JSON.stringify(value);
      }
    } else if (frame.type === "result") {
      source.close();
      const ended = {success: "completed"}[frame.status] || frame.status;
      state.textContent = "(ended: " + ended + ")";
      // The page's final state (outputs, error, timings, LLM calls) is the server's to show.
      if (wasLive) setTimeout(() => window.location.reload(), 300);
    }
  }

  function connect() {
    const url = PREFIX + "/api/runs/" + encodeURIComponent(taskId) + "/events?after=" + lastSeq;
    source = new EventSource(url);
    source.addEventListener("stream", onFrame);
    source.addEventListener("result", onFrame);
    source.onopen = () => { state.textContent = "(following)"; };
    source.onerror = () => {
      // A dropped stream: ask again from the last frame shown (?after=, as the SDK resumes),
      // rather than trusting the browser's own reconnection to send Last-Event-ID.
      state.textContent = "(reconnecting)";
      source.close();
      setTimeout(connect, 1000);
    };
  }
  connect();

  const terminate = document.getElementById("terminate");
  if (terminate) {
    terminate.addEventListener("click", async () => {
      terminate.disabled = true;
      const result = document.getElementById("action-result");
      try {
        const answer = await fetch(
          PREFIX + "/runs/" + encodeURIComponent(taskId) + "/terminate",
          {method: "POST", credentials: "same-origin", headers: {"X-Dashboard-CSRF": csrf()}},
        );
        const data = await answer.json();
        result.textContent = answer.ok ? "terminated: " + data.status : "refused: " + data.error;
      } catch (error) {
        result.textContent = "could not terminate: " + error;
        terminate.disabled = false;
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const name = document.body.dataset.page;
  if (name === "runs") runsList();
  if (name === "run") runPage();
});
