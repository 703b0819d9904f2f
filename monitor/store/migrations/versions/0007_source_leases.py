"""Migration 0007: source leases, so that replicas sharing a database split the polling.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sourceleaserecord",
        sa.Column("source_id", sa.String(length=100), primary_key=True),
        sa.Column("next_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sourceleaserecord_due", "sourceleaserecord", ["next_due"])


def downgrade() -> None:
    op.drop_index("ix_sourceleaserecord_due", table_name="sourceleaserecord")
    op.drop_table("sourceleaserecord")
