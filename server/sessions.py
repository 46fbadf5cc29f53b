"""Login sessions: the cookie holds a random session id, which the database maps to the token that opened it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from . import db
from .limits import SESSION_LIFETIME_SECONDS

COOKIE_PREFIX = "browsertrain_session_"
# Sessions already found valid, per process, so that a page's requests do not each read the database.
_CACHE_SIZE = 1024


def cookie_name(port: int) -> str:
    """Named per port: browsers send a host's cookies to every port on it, so two servers must not share one name."""
    return f"{COOKIE_PREFIX}{port}"


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Sessions in the database, so every server process on one database (and one token) honours them.

    A session is valid while it has not expired and the server's token is the one that opened it: a server started
    with another token (a restart without BROWSERTRAIN_TOKEN draws a new one) honours none of the old sessions.
    """

    def __init__(self, engine: Engine, token: str):
        self.engine = engine
        self._key = token.encode()
        self._valid: dict[str, int] = {}  # id hash -> expiry (Unix seconds)

    def _proof(self, session_id: str) -> str:
        return hmac.new(self._key, session_id.encode(), hashlib.sha256).hexdigest()

    def open(self) -> str:
        """A new session id (256 random bits), stored as its hash; expired sessions are swept out on the way."""
        session_id = secrets.token_urlsafe(32)
        now = int(time.time())
        with self.engine.begin() as conn:
            conn.execute(delete(db.sessions).where(db.sessions.c.expires_at <= now))
            conn.execute(
                insert(db.sessions).values(
                    id_hash=_id_hash(session_id),
                    token_proof=self._proof(session_id),
                    created_at=db.now(),
                    expires_at=now + SESSION_LIFETIME_SECONDS,
                )
            )
        return session_id

    def is_valid(self, session_id: str) -> bool:
        if not session_id or len(session_id) > 128:
            return False
        key, now = _id_hash(session_id), int(time.time())
        expires = self._valid.get(key)
        if expires is None:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(db.sessions.c.token_proof, db.sessions.c.expires_at).where(db.sessions.c.id_hash == key)
                ).first()
            if row is None or not hmac.compare_digest(row.token_proof, self._proof(session_id)):
                return False
            expires = row.expires_at
            if len(self._valid) >= _CACHE_SIZE:
                self._valid.clear()
            self._valid[key] = expires
        return now < expires
