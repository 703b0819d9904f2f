"""Migration 0006: how many parts of a split message (Slack) were posted, so a retry resumes.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveryrecord", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parts_sent", sa.Integer(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("deliveryrecord", schema=None) as batch_op:
        batch_op.drop_column("parts_sent")
