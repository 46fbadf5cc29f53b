"""Alembic's entry point, run by server.db.upgrade: it hands over one connection, already inside the transaction that
holds the migration lock, and every version runs on it (committed together by the caller)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection)
with context.begin_transaction():  # joins the caller's transaction
    context.run_migrations()
