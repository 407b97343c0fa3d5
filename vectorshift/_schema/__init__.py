"""Declarations, once, in pydantic v2: the shapes the SDK, the local server and the docs share.

Private. Each module declares one family of shapes (``nodes`` the node types, ``io_types`` the
values a run input of each type accepts); code that needs them at run time imports them lazily,
so ``import vectorshift`` never loads pydantic.
"""
