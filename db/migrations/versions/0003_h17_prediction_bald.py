"""Predictions: the BALD score (mutual information of MC-dropout passes) the review queue can order by.

Revision ID: 0003_h17
Revises: 0002_h19
Create Date: 2026-12-02 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_h17"
down_revision = "0002_h19"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: predictions stored before (or scored without MC passes) have no BALD score
    op.add_column("prediction", sa.Column("bald", sa.Float(), nullable=True))
    op.create_index(
        "ix_prediction_bald", "prediction", ["model_version_id", "bald", "candidate_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_prediction_bald", table_name="prediction")
    with op.batch_alter_table("prediction") as batch_op:
        batch_op.drop_column("bald")
