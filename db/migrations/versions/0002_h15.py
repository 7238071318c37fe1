"""Labels append-only at every level: no REPLACE over a label on SQLite, no TRUNCATE on PostgreSQL.

The triggers of 0001 refuse UPDATE and DELETE, but SQLite's ``INSERT OR
REPLACE`` (and ``REPLACE INTO``) deletes the conflicting row without firing
DELETE triggers, and PostgreSQL's ``TRUNCATE`` fires no row triggers. Here a
BEFORE INSERT trigger on SQLite refuses an insert whose id, or whose
retracted label, is already taken (the only rows a REPLACE could remove), and
a statement trigger on PostgreSQL refuses TRUNCATE (also ``TRUNCATE
candidate CASCADE``, which would truncate the labels too).

Revision ID: 0002_h15
Revises: 0002_h13
"""

from alembic import op

revision = "0002_h15"
down_revision = "0002_h13"
branch_labels = None
depends_on = None

MESSAGE = "labels are append-only: add a new label or a retraction instead"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER label_no_replace BEFORE INSERT ON label "
            "WHEN EXISTS (SELECT 1 FROM label WHERE id = NEW.id "
            "OR (NEW.retracts_id IS NOT NULL AND retracts_id = NEW.retracts_id)) "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    else:
        op.execute(
            "CREATE TRIGGER label_no_truncate BEFORE TRUNCATE ON label "
            "FOR EACH STATEMENT EXECUTE FUNCTION label_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER label_no_replace")
    else:
        op.execute("DROP TRIGGER label_no_truncate ON label")
