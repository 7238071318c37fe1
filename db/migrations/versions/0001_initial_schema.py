"""Initial schema: galaxies, candidates, experts, append-only labels, models, predictions, jobs.

Labels are made append-only by triggers that refuse UPDATE and DELETE on the
``label`` table (SQLite and PostgreSQL).

Revision ID: 0001
Revises:
Create Date: 2026-11-24 23:09:05.312599
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY_MESSAGE = "labels are append-only: add a new label or a retraction instead"


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER label_no_{event.lower()} BEFORE {event} ON label "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION label_append_only() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER label_append_only BEFORE UPDATE OR DELETE ON label "
            "FOR EACH ROW EXECUTE FUNCTION label_append_only()"
        )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER label_no_update")
        op.execute("DROP TRIGGER label_no_delete")
    else:
        op.execute("DROP TRIGGER label_append_only ON label")
        op.execute("DROP FUNCTION label_append_only()")


def upgrade() -> None:
    op.create_table(
        "expert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('expert', 'admin', 'catalog')", name=op.f("ck_expert_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert")),
        sa.UniqueConstraint("name", name=op.f("uq_expert_name")),
    )
    op.create_table(
        "galaxy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("distance_mpc", sa.Float(), nullable=True),
        sa.Column("mosaic_paths", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("instruments", sa.JSON(), nullable=False),
        sa.Column("pixel_scale_arcsec", sa.Float(), nullable=True),
        sa.Column("catalog_path", sa.String(length=1024), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_galaxy")),
        sa.UniqueConstraint("name", name=op.f("uq_galaxy_name")),
    )
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("log_tail", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker_id", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name=op.f("ck_job_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_kind"), ["kind"], unique=False)
        batch_op.create_index("ix_job_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("galaxy_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("ra", sa.Float(), nullable=True),
        sa.Column("dec", sa.Float(), nullable=True),
        sa.Column("mag_nuv", sa.Float(), nullable=True),
        sa.Column("mag_u", sa.Float(), nullable=True),
        sa.Column("mag_b", sa.Float(), nullable=True),
        sa.Column("mag_v", sa.Float(), nullable=True),
        sa.Column("mag_i", sa.Float(), nullable=True),
        sa.Column("ci", sa.Float(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("usable", sa.Boolean(), nullable=False),
        sa.Column("unusable_reason", sa.String(length=32), nullable=False),
        sa.Column("shuffle_key", sa.Float(), nullable=False),
        sa.Column("n_votes", sa.Integer(), nullable=False),
        sa.Column("consensus_class", sa.SmallInteger(), nullable=True),
        sa.CheckConstraint("consensus_class BETWEEN 1 AND 4", name=op.f("ck_candidate_consensus_class")),
        sa.ForeignKeyConstraint(["galaxy_id"], ["galaxy.id"], name=op.f("fk_candidate_galaxy_id_galaxy")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate")),
        sa.UniqueConstraint("galaxy_id", "source_id", name="uq_candidate_galaxy_source"),
    )
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.create_index("ix_candidate_consensus", ["consensus_class"], unique=False)
        batch_op.create_index(batch_op.f("ix_candidate_galaxy_id"), ["galaxy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_candidate_mag_v"), ["mag_v"], unique=False)
        batch_op.create_index("ix_candidate_shuffle", ["shuffle_key", "id"], unique=False)
        batch_op.create_index("ix_candidate_votes", ["n_votes", "id"], unique=False)

    op.create_table(
        "model_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("checkpoint_path", sa.String(length=1024), nullable=True),
        sa.Column("checkpoint_sha256", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("label_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("n_train_labels", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("baseline_metrics", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("promoted_at", sa.DateTime(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('candidate', 'active', 'archived')", name=op.f("ck_model_version_status")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_model_version_job_id_job")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["model_version.id"], name=op.f("fk_model_version_parent_id_model_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_version")),
        sa.UniqueConstraint("name", name=op.f("uq_model_version_name")),
    )
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.create_index(
            "uq_model_version_one_active",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "held_out_candidate",
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["candidate.id"], name=op.f("fk_held_out_candidate_candidate_id_candidate")
        ),
        sa.PrimaryKeyConstraint("candidate_id", name=op.f("pk_held_out_candidate")),
    )
    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("label_class", sa.String(length=8), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seconds_spent", sa.Float(), nullable=True),
        sa.Column("shown_model_version_id", sa.Integer(), nullable=True),
        sa.Column("shown_scores", sa.JSON(), nullable=True),
        sa.Column("display_settings", sa.JSON(), nullable=False),
        sa.Column("retracts_id", sa.Integer(), nullable=True),
        sa.Column("import_batch", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "(retracts_id IS NULL AND label_class IS NOT NULL AND label_class IN ('1', '2', '3', '4', 'unsure')) OR (retracts_id IS NOT NULL AND label_class IS NULL)",
            name=op.f("ck_label_label_class"),
        ),
        sa.CheckConstraint(
            "seconds_spent IS NULL OR seconds_spent >= 0", name=op.f("ck_label_seconds_spent")
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["candidate.id"], name=op.f("fk_label_candidate_id_candidate")
        ),
        sa.ForeignKeyConstraint(["expert_id"], ["expert.id"], name=op.f("fk_label_expert_id_expert")),
        sa.ForeignKeyConstraint(["retracts_id"], ["label.id"], name=op.f("fk_label_retracts_id_label")),
        sa.ForeignKeyConstraint(
            ["shown_model_version_id"],
            ["model_version.id"],
            name=op.f("fk_label_shown_model_version_id_model_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label")),
        sa.UniqueConstraint("retracts_id", name=op.f("uq_label_retracts_id")),
    )
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.create_index("ix_label_candidate_expert", ["candidate_id", "expert_id", "id"], unique=False)
        batch_op.create_index("ix_label_expert_candidate", ["expert_id", "candidate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_label_import_batch"), ["import_batch"], unique=False)

    op.create_table(
        "prediction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("predicted_class", sa.SmallInteger(), nullable=False),
        sa.Column("p1", sa.Float(), nullable=False),
        sa.Column("p2", sa.Float(), nullable=False),
        sa.Column("p3", sa.Float(), nullable=False),
        sa.Column("p4", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("margin", sa.Float(), nullable=False),
        sa.Column("entropy", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("predicted_class BETWEEN 1 AND 4", name=op.f("ck_prediction_predicted_class")),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["candidate.id"], name=op.f("fk_prediction_candidate_id_candidate")
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_version.id"],
            name=op.f("fk_prediction_model_version_id_model_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction")),
        sa.UniqueConstraint("model_version_id", "candidate_id", name="uq_prediction_model_candidate"),
    )
    with op.batch_alter_table("prediction", schema=None) as batch_op:
        batch_op.create_index("ix_prediction_candidate", ["candidate_id"], unique=False)
        batch_op.create_index(
            "ix_prediction_confidence", ["model_version_id", "confidence", "candidate_id"], unique=False
        )
        batch_op.create_index(
            "ix_prediction_entropy", ["model_version_id", "entropy", "candidate_id"], unique=False
        )
        batch_op.create_index(
            "ix_prediction_margin", ["model_version_id", "margin", "candidate_id"], unique=False
        )
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table("prediction", schema=None) as batch_op:
        batch_op.drop_index("ix_prediction_margin")
        batch_op.drop_index("ix_prediction_entropy")
        batch_op.drop_index("ix_prediction_confidence")
        batch_op.drop_index("ix_prediction_candidate")

    op.drop_table("prediction")
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_import_batch"))
        batch_op.drop_index("ix_label_expert_candidate")
        batch_op.drop_index("ix_label_candidate_expert")

    op.drop_table("label")
    op.drop_table("held_out_candidate")
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_model_version_one_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.drop_table("model_version")
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_index("ix_candidate_votes")
        batch_op.drop_index("ix_candidate_shuffle")
        batch_op.drop_index(batch_op.f("ix_candidate_mag_v"))
        batch_op.drop_index(batch_op.f("ix_candidate_galaxy_id"))
        batch_op.drop_index("ix_candidate_consensus")

    op.drop_table("candidate")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_status_created")
        batch_op.drop_index(batch_op.f("ix_job_kind"))

    op.drop_table("job")
    op.drop_table("galaxy")
    op.drop_table("expert")
