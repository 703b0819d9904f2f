"""Migration 0001: the initial schema (sources, HTTP cache, documents, matches, alerts, outbox).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 21:11:40.637279
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "deliveryrecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("deliveryrecord", schema=None) as batch_op:
        batch_op.create_index("ix_deliveryrecord_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "documentrecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("item_hash", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    with op.batch_alter_table("documentrecord", schema=None) as batch_op:
        batch_op.create_index("ix_documentrecord_source_id", ["source_id"], unique=False)

    op.create_table(
        "httpcacherecord",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_table(
        "sourcestaterecord",
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("baseline_done", sa.Boolean(), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source_id"),
    )
    op.create_table(
        "alertrecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=100), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveryrecord.id"],
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documentrecord.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alertrecord", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alertrecord_pending", ["subscription_id", "delivery_id"], unique=False
        )

    op.create_table(
        "matchrecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.String(length=100), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documentrecord.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "topic_id"),
    )
    with op.batch_alter_table("matchrecord", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_matchrecord_document_id"), ["document_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("matchrecord", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matchrecord_document_id"))

    op.drop_table("matchrecord")
    with op.batch_alter_table("alertrecord", schema=None) as batch_op:
        batch_op.drop_index("ix_alertrecord_pending")

    op.drop_table("alertrecord")
    op.drop_table("sourcestaterecord")
    op.drop_table("httpcacherecord")
    with op.batch_alter_table("documentrecord", schema=None) as batch_op:
        batch_op.drop_index("ix_documentrecord_source_id")

    op.drop_table("documentrecord")
    with op.batch_alter_table("deliveryrecord", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveryrecord_due")

    op.drop_table("deliveryrecord")
