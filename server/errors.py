"""The errors the server answers with their own status and message instead of a bare 500.

Each carries its HTTP status; app.py registers one handler for all of them (JSON for API clients, a page for a
person's browser), so routes raise them, or let the domain raise them, and never translate. The CLI shows the same
messages with exit status 2."""

from __future__ import annotations


class StatusError(Exception):
    """Answered with `status` and `detail` (the message)."""

    status = 400

    @property
    def detail(self) -> str:
        return str(self)


class NotFound(StatusError, LookupError):
    """No such dataset, run or snapshot (404). A missing file inside the data folder is not this: that is a bug."""

    status = 404

    @property
    def detail(self) -> str:
        return f"not found: {self}"
