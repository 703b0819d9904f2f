"""Migration 0005: scored, explained matches, and stories (MinHash bands, facts, signatures).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("matchrecord", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("relevant", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column("category", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("regions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("issuer", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("mentions", sa.Integer(), nullable=False,
                                      server_default="0"))
    with op.batch_alter_table("documentrecord", schema=None) as batch_op:
        batch_op.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_documentrecord_story_id", ["story_id"])
    op.create_table(
        "storyprintrecord",
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documentrecord.id"),
                  primary_key=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("regions", sa.JSON(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("dated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "storybandrecord",
        sa.Column("band", sa.BigInteger(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documentrecord.id"),
                  primary_key=True),
        sqlite_with_rowid=False,  # one B-tree, not a table and an index: half the writes
    )
    op.create_table(
        "storyfactrecord",
        sa.Column("key", sa.String(length=80), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documentrecord.id"),
                  primary_key=True),
        sa.Column("dated", sa.DateTime(timezone=True), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_storyfactrecord_key_dated", "storyfactrecord", ["key", "dated"])


def downgrade() -> None:
    op.drop_index("ix_storyfactrecord_key_dated", table_name="storyfactrecord")
    op.drop_table("storyfactrecord")
    op.drop_table("storybandrecord")
    op.drop_table("storyprintrecord")
    with op.batch_alter_table("documentrecord", schema=None) as batch_op:
        batch_op.drop_index("ix_documentrecord_story_id")
        batch_op.drop_column("story_id")
    with op.batch_alter_table("matchrecord", schema=None) as batch_op:
        for name in ("mentions", "facts", "issuer", "regions", "reasons", "category",
                     "relevant", "score"):
            batch_op.drop_column(name)
