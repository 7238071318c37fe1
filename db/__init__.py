"""The label database: schema, engines, migrations and queries (SQLAlchemy 2.0, no UI, no torch).

- :mod:`db.models` — typed tables: Galaxy, Candidate, Expert, Label (append-only),
  ModelVersion, Prediction, Job, HeldOutCandidate.
- :mod:`db.engine` — ``make_engine`` (SQLite WAL file in ``$STARCNET_DATA_DIR`` or
  ``DATABASE_URL``) and ``session_factory``.
- :mod:`db.migrate` — Alembic migrations (``db/migrations``), ``upgrade`` to head.
- :mod:`db.consensus` — each expert's latest label combined per candidate (mode, mean, votes).
- :mod:`db.queue` — the review queue (orders, filters, keyset pages).
- :mod:`db.agreement` — expert-expert, expert-consensus and model-consensus agreement.
- :mod:`db.snapshot` — the training-label snapshot and its fingerprint.
- :mod:`db.predictions` — storing predictions, the active model version.
- :mod:`db.jobs`, :mod:`db.registry` — background jobs and model versions (retraining).
"""
