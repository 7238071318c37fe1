"""Predictions: the precision and engine that computed each candidate's scores.

Revision ID: 0004_h17
Revises: 0003_h17
Create Date: 2026-12-08 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_h17"
down_revision = "0003_h17"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: imported files and predictions stored before this revision do not say
    op.add_column("prediction", sa.Column("precision", sa.String(length=16), nullable=True))
    op.add_column("prediction", sa.Column("engine", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prediction") as batch_op:
        batch_op.drop_column("engine")
        batch_op.drop_column("precision")
