"""deadline clock, reminders, language, closing time; bank transfers; append-only audit

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE_GUARDS = (
    "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events "
    "BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END",
    "CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events "
    "BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END",
)
_PG_GUARDS = (
    "CREATE FUNCTION case_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'case_events is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events "
    "FOR EACH ROW EXECUTE FUNCTION case_events_append_only()",
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("clock_stops", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("waiting_since", sa.Date(), nullable=True))
        batch.add_column(sa.Column("reminded_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("lang", sa.String(8), nullable=False, server_default="ja"))
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
    op.create_table(
        "bank_transfers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount_yen", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_bank_transfers_case_id", "bank_transfers", ["case_id"])
    # The audit trail is append-only in the database itself, not only by convention.
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_GUARDS, "postgresql": _PG_GUARDS}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER case_events_no_update")
        op.execute("DROP TRIGGER case_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER case_events_append_only ON case_events")
        op.execute("DROP FUNCTION case_events_append_only()")
    op.drop_index("ix_bank_transfers_case_id", "bank_transfers")
    op.drop_table("bank_transfers")
    with op.batch_alter_table("cases") as batch:
        for column in ("closed_at", "lang", "reminded_on", "waiting_since", "clock_stops"):
            batch.drop_column(column)
