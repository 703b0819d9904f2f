"""Migration 0003: source health (failing, last new item, quiet).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sourcestaterecord", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("last_new_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("quiet_since", sa.DateTime(timezone=True), nullable=True))
    # Sources already watched: their last news is their newest document's first sighting.
    op.execute("UPDATE sourcestaterecord SET last_new_at = (SELECT max(d.first_seen_at)"
               " FROM documentrecord d WHERE d.source_id = sourcestaterecord.source_id)")


def downgrade() -> None:
    with op.batch_alter_table("sourcestaterecord", schema=None) as batch_op:
        batch_op.drop_column("quiet_since")
        batch_op.drop_column("last_new_at")
        batch_op.drop_column("failing")
