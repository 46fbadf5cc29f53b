"""Alembic's schema versions for the metadata store, run by server.db.upgrade (at every start and by
`browsertrain db upgrade`). Each version uses only portable DDL, so SQLite and PostgreSQL take the same steps."""
