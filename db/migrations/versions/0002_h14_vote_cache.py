"""Consensus cache that scales: votes per class on the candidate, and the counted label per expert.

Adds ``candidate.votes_1``..``votes_4`` and ``candidate.n_unsure`` next to
the cached ``n_votes``/``consensus_class``, and the ``vote`` table (one row
per candidate and expert: the label that counts), then fills both from the
labels, so that consensus, agreement and snapshots read the cache instead of
ranking every label; a partial covering index holds the counts of the
labelled candidates.

Revision ID: 0002_h14
Revises: 0002_h15
Create Date: 2026-12-01 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_h14"
down_revision = "0002_h15"
branch_labels = None
depends_on = None

_COUNTS = ("votes_1", "votes_2", "votes_3", "votes_4", "n_unsure")

# The counted labels as of this revision (see db.consensus.effective_labels_query).
_FILL_VOTES = """
INSERT INTO vote (candidate_id, expert_id, label_id, label_class)
SELECT candidate_id, expert_id, id,
       CASE WHEN label_class = 'unsure' THEN 0 ELSE CAST(label_class AS INTEGER) END
FROM (
    SELECT l.id, l.candidate_id, l.expert_id, l.label_class,
           row_number() OVER (PARTITION BY l.candidate_id, l.expert_id ORDER BY l.id DESC) AS rank
    FROM label AS l
    WHERE l.label_class IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM label AS r WHERE r.retracts_id = l.id)
) AS ranked
WHERE rank = 1
"""

_FILL_COUNTS = """
UPDATE candidate SET votes_1 = t.v1, votes_2 = t.v2, votes_3 = t.v3, votes_4 = t.v4, n_unsure = t.v0
FROM (
    SELECT candidate_id,
           SUM(CASE WHEN label_class = 0 THEN 1 ELSE 0 END) AS v0,
           SUM(CASE WHEN label_class = 1 THEN 1 ELSE 0 END) AS v1,
           SUM(CASE WHEN label_class = 2 THEN 1 ELSE 0 END) AS v2,
           SUM(CASE WHEN label_class = 3 THEN 1 ELSE 0 END) AS v3,
           SUM(CASE WHEN label_class = 4 THEN 1 ELSE 0 END) AS v4
    FROM vote GROUP BY candidate_id
) AS t
WHERE candidate.id = t.candidate_id
"""


def upgrade() -> None:
    for name in _COUNTS:
        op.add_column("candidate", sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "vote",
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("label_class", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("label_class BETWEEN 0 AND 4", name=op.f("ck_vote_label_class")),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["candidate.id"], name=op.f("fk_vote_candidate_id_candidate")
        ),
        sa.PrimaryKeyConstraint("candidate_id", "expert_id", name=op.f("pk_vote")),
    )
    op.create_index("ix_vote_expert_candidate", "vote", ["expert_id", "candidate_id"], unique=False)
    labelled = sa.text("n_votes > 0 OR n_unsure > 0")
    op.create_index(
        "ix_candidate_labelled",
        "candidate",
        ["id", "galaxy_id", "source_id", *_COUNTS[4:], *_COUNTS[:4]],
        unique=False,
        sqlite_where=labelled,
        postgresql_where=labelled,
    )
    op.execute(_FILL_VOTES)
    op.execute(_FILL_COUNTS)


def downgrade() -> None:
    op.drop_index("ix_candidate_labelled", table_name="candidate")
    op.drop_index("ix_vote_expert_candidate", table_name="vote")
    op.drop_table("vote")
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        for name in _COUNTS:
            batch_op.drop_column(name)
