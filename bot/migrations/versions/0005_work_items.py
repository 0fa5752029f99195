"""work items: mailbox messages handed from the leader to the workers, and their attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mailbox_key", sa.String(500), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("sender_key", sa.String(64), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("mark", sa.String(16), nullable=True),
        sa.Column("marked", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("worker", sa.String(100), nullable=True),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
    )
    # Partial: claims and marks look at pending and unmarked rows only (finished ones stay a week).
    for name, columns, where in INDEXES:
        op.create_index(name, "work_items", columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    op.create_table(
        "work_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(100), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_work_attempts_item_id", "work_attempts", ["item_id"])


INDEXES = (
    ("ix_work_items_pending", ["id"], "state = 'pending'"),
    ("ix_work_items_sender_pending", ["sender_key", "id"], "state = 'pending'"),
    ("ix_work_items_unmarked", ["id"], "state = 'done' AND NOT marked"),
)


def downgrade() -> None:
    op.drop_index("ix_work_attempts_item_id", table_name="work_attempts")
    op.drop_table("work_attempts")
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name="work_items")
    op.drop_table("work_items")
