"""Review: experts' preferences, flagged labels, and settings an admin imposes (a blind campaign).

Revision ID: 0002_h19
Revises: 0002_h14
Create Date: 2026-12-01 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_h19"
down_revision = "0002_h14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild): the label table keeps its append-only triggers.
    op.add_column(
        "expert", sa.Column("preferences", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
    )
    op.add_column("label", sa.Column("flagged", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "app_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(length=128), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_setting")),
    )


def downgrade() -> None:
    op.drop_table("app_setting")
    op.drop_column("label", "flagged")
    op.drop_column("expert", "preferences")
