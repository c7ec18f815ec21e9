"""The clearsim version, written into every summary and report (kept equal to pyproject)."""

__version__ = "0.1.0"
