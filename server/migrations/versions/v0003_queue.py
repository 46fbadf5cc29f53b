"""The job queue (docs/queue.md): jobs claimed by browser workers under a lease, the workers, and sweeps.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("attempt_token", sa.String(64), nullable=True),
        sa.Column("worker_id", sa.String(32), nullable=True),
        sa.Column("lease_expires_at", sa.Float, nullable=True),
        sa.Column("requirements", sa.JSON, nullable=False),
        sa.Column("sweep_id", sa.String(12), nullable=True),
        sa.Column("params", sa.JSON, nullable=True),
        sa.Column("trial_number", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(2000), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_index("ix_jobs_worker_id", "jobs", ["worker_id"])
    op.create_index("ix_jobs_sweep_id", "jobs", ["sweep_id"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("device", sa.JSON, nullable=False),
        sa.Column("job_id", sa.String(12), nullable=True),
        sa.Column("progress", sa.JSON, nullable=True),
        sa.Column("last_seen_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "sweeps",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("space", sa.JSON, nullable=False),
        sa.Column("sampler", sa.String(16), nullable=False),
        sa.Column("pruner", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("trials", sa.Integer, nullable=False),
        sa.Column("parallel", sa.Integer, nullable=False),
        sa.Column("study_name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sweeps")
    op.drop_table("workers")
    op.drop_index("ix_jobs_sweep_id", table_name="jobs")
    op.drop_index("ix_jobs_worker_id", table_name="jobs")
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.drop_table("jobs")
