"""Label-database timings: review-queue pages, consensus and agreement, recording a label.

Builds a database of 100,000 candidates (5 galaxies) with predictions of an
active model and 100,000 labels from 8 experts (some changed, some undone),
then times what the app does on every click. Targets of issue 4: a queue page
<= 100 ms, consensus and agreement over 100,000 labels <= 1 s, recording one
label <= 20 ms on SQLite. Prints a markdown section (see run_all.py).

    python benchmarks/bench_db.py [--candidates N] [--labels N] [--url DATABASE_URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db.consensus import consensus, refresh_consensus_cache  # noqa: E402
from db.engine import make_engine, session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Candidate, Expert, Galaxy, Label, ModelVersion  # noqa: E402
from db.predictions import store_predictions  # noqa: E402
from db.queue import QUEUE_ORDERS, review_queue  # noqa: E402
from starcnet_core.scores import score_summaries  # noqa: E402
from webapp.services.agreement import expert_agreement, model_agreement  # noqa: E402
from webapp.services.labels import record_label  # noqa: E402

N_GALAXIES = 5
N_EXPERTS = 8


def populate(engine, n_candidates: int, n_labels: int, seed: int = 0) -> dict:
    """Fill an empty migrated database; return ids used by the timings."""
    rng = np.random.default_rng(seed)
    sessions = session_factory(engine)
    with sessions() as session:
        galaxies = [Galaxy(name=f"bench{g}", distance_mpc=5.0 + g) for g in range(N_GALAXIES)]
        experts = [Expert(name=f"expert{e}") for e in range(N_EXPERTS)]
        model = ModelVersion(name="bench-model", status="active")
        session.add_all([*galaxies, *experts, model])
        session.flush()
        per_galaxy = n_candidates // N_GALAXIES
        rows = [
            {
                "galaxy_id": galaxy.id,
                "source_id": i + 1,
                "x": float(rng.uniform(1, 4000)),
                "y": float(rng.uniform(1, 4000)),
                "mag_v": float(rng.uniform(18, 26)),
                "usable": True,
                "unusable_reason": "",
                "shuffle_key": float(rng.random()),
                "properties": {},
                "n_votes": 0,
            }
            for galaxy in galaxies
            for i in range(per_galaxy)
        ]
        session.execute(insert(Candidate), rows)
        candidate_ids = np.array(session.scalars(select(Candidate.id).order_by(Candidate.id)).all())
        scores = rng.dirichlet(np.ones(4) * 0.7, size=len(candidate_ids))
        store_predictions(session, model.id, candidate_ids.tolist(), scores, score_summaries(scores))
        labelled = rng.choice(candidate_ids, size=n_labels)
        expert_ids = rng.choice([e.id for e in experts], size=n_labels)
        classes = rng.choice(["1", "2", "3", "4", "unsure"], p=[0.2, 0.2, 0.2, 0.35, 0.05], size=n_labels)
        session.execute(
            insert(Label),
            [
                {
                    "candidate_id": int(c),
                    "expert_id": int(e),
                    "label_class": str(k),
                    "comment": "",
                    "display_settings": {},
                }
                for c, e, k in zip(labelled, expert_ids, classes, strict=True)
            ],
        )
        # A few retractions, as undo clicks leave them.
        undone = session.scalars(select(Label.id).order_by(Label.id).limit(max(1, n_labels // 100))).all()
        session.execute(
            insert(Label),
            [
                {
                    "candidate_id": int(labelled[i]),
                    "expert_id": int(expert_ids[i]),
                    "label_class": None,
                    "retracts_id": label_id,
                    "comment": "",
                    "display_settings": {},
                }
                for i, label_id in enumerate(undone)
            ],
        )
        refresh_consensus_cache(session)
        session.commit()
        return {
            "galaxy_id": galaxies[0].id,
            "expert_id": experts[0].id,
            "candidate_ids": candidate_ids,
        }


def timed(function, repeat: int) -> float:
    """Median wall time of ``function()`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(engine, ids: dict, repeat: int) -> list[tuple[str, float, float]]:
    """(what, milliseconds, target ms) rows."""
    reads = session_factory(engine, read_only=True)
    writes = session_factory(engine)
    results = []
    with reads() as session:
        for order in QUEUE_ORDERS:

            def page(order=order):
                first = review_queue(session, order=order, limit=50)
                if first.next_cursor is not None:
                    review_queue(session, order=order, limit=50, after=first.next_cursor)

            results.append((f"queue: `{order}`, first two pages of 50", timed(page, repeat) / 2, 100))
        filtered = lambda: review_queue(  # noqa: E731
            session,
            order="least_confidence",
            galaxy_id=ids["galaxy_id"],
            predicted_class=3,
            mag_v_range=(20.0, 24.0),
            expert_id=ids["expert_id"],
            labelled_by_expert=False,
            limit=50,
        )
        results.append(
            ("queue: galaxy + class + magnitude + not labelled by me", timed(filtered, repeat), 100)
        )
        results.append(("consensus of every candidate", timed(lambda: consensus(session), 3), 1000))
        results.append(
            ("expert agreement (pairs, vs consensus)", timed(lambda: expert_agreement(session), 3), 1000)
        )
        results.append(("model vs consensus agreement", timed(lambda: model_agreement(session), 3), 1000))
    rng = np.random.default_rng(1)
    targets = rng.choice(ids["candidate_ids"], size=max(repeat * 5, 50))
    it = iter(targets)

    def one_label():
        with writes() as session:
            record_label(
                session,
                candidate_id=int(next(it)),
                expert_id=ids["expert_id"],
                label_class=2,
                seconds_spent=4.0,
                shown_scores=[0.1, 0.6, 0.2, 0.1],
            )

    results.append(
        ("record one label (own transaction, consensus cache)", timed(one_label, len(targets)), 20)
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--url", help="database URL of an EMPTY database (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        start = time.perf_counter()
        ids = populate(engine, args.candidates, args.labels)
        build = time.perf_counter() - start
        rows = measure(engine, ids, args.repeat)
        engine.dispose()
    print("## bench_db\n")
    print(
        f"{args.candidates:,} candidates with predictions of the active model, {args.labels:,} labels "
        f"from {N_EXPERTS} experts ({engine.dialect.name}; built in {build:.1f} s). Median wall times.\n"
    )
    print("| operation | ms | target ms | |")
    print("|---|---:|---:|---|")
    for what, ms, target in rows:
        print(f"| {what} | {ms:.1f} | {target} | {'ok' if ms <= target else 'OVER'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
