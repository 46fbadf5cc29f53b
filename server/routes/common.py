"""What every handler needs: the app's storage and database, and one mapping from our errors to HTTP."""

from __future__ import annotations

from contextlib import contextmanager

from fastapi import HTTPException, Request
from sqlalchemy.engine import Engine

from ..datasets.importer import DatasetError, DatasetExists
from ..runs.service import RunError, RunFinished, RunNotFound
from ..storage import DiskFull, Storage, UnsafePath, WorkFolderLost


def storage(request: Request) -> Storage:
    return request.app.state.storage


def engine(request: Request) -> Engine:
    return request.app.state.engine


@contextmanager
def user_errors():
    """Turn the domain's errors into clear 4xx answers; anything else stays a bug (500)."""
    try:
        yield
    except UnsafePath as exc:
        raise HTTPException(400, str(exc)) from None
    except (DatasetExists, RunFinished) as exc:
        raise HTTPException(409, str(exc)) from None
    except (RunNotFound, FileNotFoundError) as exc:
        raise HTTPException(404, f"not found: {exc}") from None
    except (DatasetError, RunError) as exc:
        raise HTTPException(400, str(exc)) from None
    except WorkFolderLost as exc:  # not the user's fault, but said plainly rather than as a bare 500
        raise HTTPException(500, str(exc)) from None
    except DiskFull as exc:  # 507 Insufficient Storage: a 5xx, so the page keeps what it sent and retries later
        raise HTTPException(507, str(exc)) from None
