"""The label database: schema, engines, migrations and queries (SQLAlchemy 2.0, no UI, no torch).

- :mod:`db.models` — typed tables: Galaxy, Candidate, Expert, Label (append-only),
  ModelVersion, Prediction, Job, HeldOutCandidate.
- :mod:`db.engine` — ``make_engine`` (SQLite WAL file in ``$STARCNET_DATA_DIR`` or
  ``DATABASE_URL``), ``session_factory`` and ``use_case``, the one transaction of
  each use case (no function of this package commits; its callers own the transaction).
- :mod:`db.migrate` — Alembic migrations (``db/migrations``), ``upgrade`` to head.
- :mod:`db.labels`, :mod:`db.experts`, :mod:`db.galaxies` — label rows and the
  candidate locks, experts, galaxies and their candidates.
- :mod:`db.consensus` — each expert's latest label combined per candidate (mode, mean, votes).
- :mod:`db.queue` — the review queue (orders, filters, keyset pages).
- :mod:`db.review` — what the review screen reads around one candidate, and the progress counts.
- :mod:`db.agreement` — expert-expert, expert-consensus and model-consensus agreement.
- :mod:`db.snapshot` — the training-label snapshot and its fingerprint.
- :mod:`db.predictions` — storing predictions, the active model version.
- :mod:`db.scoring` — what a model version has scored (unscored candidates, counts, pairs).
- :mod:`db.jobs`, :mod:`db.registry` — background jobs and model versions (retraining).
"""
