"""Model-version status "candidate" renamed "proposed": "candidate" means only a star-cluster candidate.

Revision ID: 0002_h13
Revises: 0001
Create Date: 2026-12-01 22:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_h13"
down_revision = "0001"
branch_labels = None
depends_on = None


def _rename(old: str, new: str, statuses: tuple[str, ...]) -> None:
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_model_version_status"), type_="check")
    op.execute(
        sa.text("UPDATE model_version SET status = :new WHERE status = :old").bindparams(new=new, old=old)
    )
    allowed = ", ".join(f"'{s}'" for s in statuses)
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_model_version_status"), sa.text(f"status IN ({allowed})"))


def upgrade() -> None:
    _rename("candidate", "proposed", ("proposed", "active", "archived"))


def downgrade() -> None:
    _rename("proposed", "candidate", ("candidate", "active", "archived"))
