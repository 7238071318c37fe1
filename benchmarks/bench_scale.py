"""Survey scale: how each database cost grows from 10,000 to 1,000,000 candidates, and scoring with 1 or 2 workers.

For each size N (10k, 100k, 1M) and each backend (SQLite file; PostgreSQL on
``$STARCNET_TEST_POSTGRES_URL``'s server, in a database of its own that is
dropped afterwards) it builds N candidates in 10 galaxies with predictions of
an active model and about N labels from 20 experts (a third of the
candidates, three experts each, with some changes of mind and undos) by bulk
inserts (COPY on PostgreSQL), rebuilds the consensus cache, then times: a
review-queue page, the queue with filters, recording a label, consensus of
every candidate, expert agreement, the training-label snapshot and the CSV
export of one galaxy. Then it scores a 4-galaxy survey with the ``lite``
network with one and with two ``Worker`` processes (one torch thread each)
claiming the shards of one score job. Targets at 1M on PostgreSQL: queue page
<= 100 ms, one label <= 20 ms, consensus and agreement <= 1 s, snapshot
<= 5 s; two workers <= 0.6x one worker's time. Every figure is printed with
the 1-minute load average when it was taken (the cores are shared).

    python benchmarks/bench_scale.py [--sizes 10000 100000 1000000] [--backends sqlite postgres]
                                     [--score-candidates 3000] [--no-scoring]
                                     [--prepared DIR] [--build-only]

Building a million rows takes many minutes, timing them one: ``--prepared
DIR`` keeps each built database (PostgreSQL: a database
``starcnet_scale_<N>`` on the test server; SQLite: ``DIR/scale<N>.sqlite``)
and reuses it when it is there, so the build can run niced without the
benchmark lock (``--build-only``) and the timed part under it. A reused
database carries the labels that earlier timed runs recorded (30 per run).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_db import timed as median_ms  # noqa: E402
from benchmarks.run_all import instruction_sets  # noqa: E402
from db import jobs  # noqa: E402
from db.consensus import consensus, from_counts, refresh_consensus_cache  # noqa: E402
from db.engine import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    make_engine,
    session_factory,
    use_case,
)
from db.migrate import upgrade  # noqa: E402
from db.models import Candidate, Expert, Galaxy, Job, Label, ModelVersion, Prediction, Vote  # noqa: E402
from db.queue import review_queue  # noqa: E402
from db.snapshot import label_snapshot  # noqa: E402
from starcnet_core.scores import score_summaries  # noqa: E402
from webapp.services.agreement import expert_agreement  # noqa: E402
from webapp.services.export import export_galaxy  # noqa: E402
from webapp.services.labels import record_label  # noqa: E402

N_GALAXIES = 10
N_EXPERTS = 20
TARGETS_MS = {
    "queue page (smallest margin, 2 pages of 50)": 100,
    "queue: galaxy + class + magnitude + not labelled by me": 100,
    "record one label": 20,
    "consensus of every candidate": 1000,
    "expert agreement (all pairs, vs consensus)": 1000,
    "label snapshot (experts, held-out excluded)": 5000,
}


def load() -> float:
    return os.getloadavg()[0]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load():.1f}] {message}", file=sys.stderr, flush=True)


def bulk_insert(engine, table: str, columns: dict[str, np.ndarray | list]) -> None:
    """Insert column arrays into ``table``: COPY on PostgreSQL, the driver's executemany on SQLite."""
    names = list(columns)
    values = [np.asarray(v).tolist() if not isinstance(v, list) else v for v in columns.values()]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            buffer = io.StringIO()
            for row in zip(*values, strict=True):
                buffer.write(
                    "\t".join(
                        r"\N" if v is None else ("t" if v is True else "f" if v is False else str(v))
                        for v in row
                    )
                )
                buffer.write("\n")
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        else:
            marks = ", ".join("?" for _ in names)
            # the engine's connections leave transactions to SQLAlchemy: without BEGIN every row commits
            cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", zip(*values, strict=True)
            )
        raw.commit()
    finally:
        raw.close()


def populate(engine, n: int, seed: int = 0, check_cache: bool = False) -> dict:
    """N candidates in 10 galaxies, predictions of one active model, ~N labels of 20 experts.

    The consensus caches (vote table, candidate counts) are computed here with
    numpy and copied in with the rows; ``check_cache`` then rebuilds them with
    :func:`refresh_consensus_cache` (timed) and fails unless both agree.
    """
    rng = np.random.default_rng(seed)
    sessions = session_factory(engine)
    with sessions() as session:
        galaxies = [Galaxy(name=f"scale{g}", distance_mpc=5.0 + g) for g in range(N_GALAXIES)]
        experts = [Expert(name=f"expert{e:02d}") for e in range(N_EXPERTS)]
        model = ModelVersion(name="scale-model", status="active")
        session.add_all([*galaxies, *experts, model])
        session.commit()
        galaxy_ids = [g.id for g in galaxies]
        expert_ids = np.array([e.id for e in experts])
        model_id = model.id
        first = (session.scalar(select(func.max(Candidate.id))) or 0) + 1
    per_galaxy = n // N_GALAXIES
    n = per_galaxy * N_GALAXIES
    ids = np.arange(first, first + n)  # a fresh table numbers rows from 1
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    # A third of the candidates, three experts each: about N answers (label ids 1, 2, ... in this order).
    labelled = rng.choice(ids, size=n // 3, replace=False)
    who = np.argsort(rng.random((len(labelled), N_EXPERTS)), axis=1)[:, :3]
    truth = rng.choice(4, size=len(labelled), p=[0.2, 0.2, 0.25, 0.35]) + 1
    candidate = np.repeat(labelled, 3)
    expert = expert_ids[who.ravel()]
    agree = rng.random(len(candidate)) < 0.7
    number = np.where(agree, np.repeat(truth, 3), rng.integers(1, 5, len(candidate)))
    number[rng.random(len(candidate)) < 0.05] = 0  # unsure
    # changes of mind: 1% of the answers get a second, later answer
    changed = rng.choice(len(candidate), size=len(candidate) // 100, replace=False)
    candidate = np.concatenate([candidate, candidate[changed]])
    expert = np.concatenate([expert, expert[changed]])
    number = np.concatenate([number, rng.integers(1, 5, len(changed))])
    n_answers = len(candidate)
    # undos: half of the changes of mind are retracted, so the first answer counts again
    undone = np.arange(n_answers - len(changed), n_answers)[: len(changed) // 2]
    # the caches: per (candidate, expert) the latest answer not retracted
    label_id = np.arange(1, n_answers + 1)
    standing = np.ones(n_answers, dtype=bool)
    standing[undone] = False
    pair = candidate[standing] * (expert_ids.max() + 1) + expert[standing]
    order = np.lexsort((label_id[standing], pair))
    last = order[np.r_[pair[order][1:] != pair[order][:-1], True]]
    votes = {
        k: v[standing][last] for k, v in {"c": candidate, "e": expert, "l": label_id, "k": number}.items()
    }
    per_class = np.bincount(5 * (votes["c"] - first) + votes["k"], minlength=5 * n).reshape(n, 5)
    cached = from_counts(ids, per_class)
    bulk_insert(
        engine,
        "candidate",
        {
            "galaxy_id": np.repeat(galaxy_ids, per_galaxy),
            "source_id": np.tile(np.arange(1, per_galaxy + 1), N_GALAXIES),
            "x": rng.uniform(1, 4000, n).round(2),
            "y": rng.uniform(1, 4000, n).round(2),
            "mag_v": rng.uniform(18, 26, n).round(3),
            "usable": [True] * n,
            "unusable_reason": [""] * n,
            "shuffle_key": rng.random(n).round(6),
            "properties": ["{}"] * n,
            "n_votes": cached.n_votes,
            "consensus_class": [int(m) if m else None for m in cached.mode],
            "n_unsure": cached.n_unsure,
            **{f"votes_{k + 1}": cached.counts[:, k] for k in range(4)},
        },
    )
    scores = rng.dirichlet(np.ones(4) * 0.7, size=n).round(6)
    summary = score_summaries(scores)
    bulk_insert(
        engine,
        "prediction",
        {
            "candidate_id": ids,
            "model_version_id": np.full(n, model_id),
            "predicted_class": summary["predicted_class"],
            **{f"p{k + 1}": scores[:, k] for k in range(4)},
            "confidence": summary["confidence"].round(6),
            "margin": summary["margin"].round(6),
            "entropy": summary["entropy"].round(6),
            "created_at": [now] * n,
        },
    )
    classes = np.where(number == 0, "unsure", number.astype(str)).tolist()
    bulk_insert(
        engine,
        "label",
        {
            "candidate_id": candidate,
            "expert_id": expert,
            "label_class": classes,
            "comment": [""] * n_answers,
            "display_settings": ["{}"] * n_answers,
            "created_at": [now] * n_answers,
        },
    )
    bulk_insert(
        engine,
        "label",
        {
            "candidate_id": candidate[undone],
            "expert_id": expert[undone],
            "label_class": [None] * len(undone),
            "retracts_id": label_id[undone],
            "comment": [""] * len(undone),
            "display_settings": ["{}"] * len(undone),
            "created_at": [now] * len(undone),
        },
    )
    bulk_insert(
        engine,
        "vote",
        {
            "candidate_id": votes["c"],
            "expert_id": votes["e"],
            "label_id": votes["l"],
            "label_class": votes["k"],
        },
    )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    rebuild_s = rebuild_and_compare(engine, len(votes["c"])) if check_cache else None
    return {
        "n": n,
        "n_labels": n_answers + len(undone),
        "galaxy_id": galaxy_ids[0],
        "galaxy": "scale0",
        "expert_id": int(expert_ids[0]),
        "candidate_ids": ids,
        "rebuild_s": rebuild_s,
    }


def rebuild_and_compare(engine, n_votes_expected: int | None = None) -> float:
    """Seconds :func:`refresh_consensus_cache` takes over every candidate; fails unless the consensus is unchanged."""
    sessions = session_factory(engine)
    with sessions() as session:
        before = consensus(session)
        if n_votes_expected is None:
            n_votes_expected = session.scalar(select(func.count()).select_from(Vote))
        session.commit()
        started = time.perf_counter()
        refresh_consensus_cache(session)
        session.commit()
        rebuild_s = time.perf_counter() - started
        after = consensus(session)
        n_votes = session.scalar(select(func.count()).select_from(Vote))
        session.commit()  # end the transaction: on SQLite it holds the write lock
    same = all(
        np.array_equal(getattr(before, f), getattr(after, f)) for f in ("candidate_id", "counts", "n_unsure")
    )
    if not same or n_votes != n_votes_expected:
        raise RuntimeError("the benchmark's consensus cache differs from refresh_consensus_cache")
    return rebuild_s


def describe(engine) -> dict | None:
    """The world :func:`populate` built in this database, read back from it (None: not built yet)."""
    sessions = session_factory(engine, read_only=True)
    with sessions() as session:
        galaxy_id = session.scalar(select(Galaxy.id).where(Galaxy.name == "scale0"))
        # the vote cache is copied in last: without it the build did not finish
        if galaxy_id is None or session.scalar(select(func.count()).select_from(Vote)) == 0:
            return None
        scale = select(Galaxy.id).where(Galaxy.name.like("scale%"))
        ids = session.scalars(
            select(Candidate.id).where(Candidate.galaxy_id.in_(scale)).order_by(Candidate.id)
        ).all()
        n_labels = session.scalar(select(func.count()).select_from(Label))
        expert_id = session.scalar(select(Expert.id).where(Expert.name == "expert00"))
    return {
        "n": len(ids),
        "n_labels": int(n_labels),
        "galaxy_id": galaxy_id,
        "galaxy": "scale0",
        "expert_id": int(expert_id),
        "candidate_ids": np.asarray(ids, dtype=np.int64),
        "rebuild_s": None,
    }


def prepared_database(backend: str, folder: Path, n: int) -> str:
    """The kept database of size ``n`` (created empty when absent)."""
    if backend == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / f'scale{n}.sqlite'}"
    server = os.environ.get("STARCNET_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("bench_scale: set STARCNET_TEST_POSTGRES_URL (or pass --backends sqlite)")
    return create_postgres_database(server, f"starcnet_scale_{n}", exist_ok=True)


def timed(function, repeat: int) -> float:
    """Median wall time of ``function()`` in milliseconds, after one untimed warm-up call."""
    function()
    return median_ms(function, repeat)


def measure(engine, world: dict, repeat: int) -> list[tuple[str, float, float]]:
    """(what, milliseconds, load average) rows."""
    reads = session_factory(engine, read_only=True)
    writes = session_factory(engine)
    results = []

    def record(name: str, ms: float) -> None:
        results.append((name, ms, load()))
        log(f"  {name}: {ms:.1f} ms")

    big = repeat
    with reads() as session:

        def page():
            first = review_queue(session, order="smallest_margin", limit=50)
            review_queue(session, order="smallest_margin", limit=50, after=first.next_cursor)

        record("queue page (smallest margin, 2 pages of 50)", timed(page, 5) / 2)
        filtered = lambda: review_queue(  # noqa: E731
            session,
            order="least_confidence",
            galaxy_id=world["galaxy_id"],
            predicted_class=3,
            mag_v_range=(20.0, 24.0),
            expert_id=world["expert_id"],
            labelled_by_expert=False,
            limit=50,
        )
        record("queue: galaxy + class + magnitude + not labelled by me", timed(filtered, 5))
        record("consensus of every candidate", timed(lambda: consensus(session), big))
        record("expert agreement (all pairs, vs consensus)", timed(lambda: expert_agreement(session), big))
        snapshot = lambda: label_snapshot(session, roles=["expert", "admin"])  # noqa: E731
        record("label snapshot (experts, held-out excluded)", timed(snapshot, big))
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "export.csv"
            ms = timed(lambda: export_galaxy(session, world["galaxy"], "csv", out), 1)
            record("export one galaxy as CSV (N/10 rows)", ms)
    rng = np.random.default_rng(1)
    targets = rng.choice(world["candidate_ids"], size=30, replace=False)
    with writes() as session:
        # 10 labels untimed first: a reviewing expert's connection has its statements prepared
        # (psycopg prepares a statement on its 5th run, PostgreSQL plans it generically from the 6th)
        for candidate in targets[:10]:
            record_label(session, candidate_id=int(candidate), expert_id=world["expert_id"], label_class="3")
        times = []
        for candidate in targets[10:]:
            start = time.perf_counter()
            record_label(session, candidate_id=int(candidate), expert_id=world["expert_id"], label_class="2")
            times.append((time.perf_counter() - start) * 1000)
    record("record one label", statistics.median(times))
    return results


_WORKER = """
import sys
import torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
from bench_scale import synthetic_stamps
import starcnet_core.nn.predict as predict
from db.engine import make_engine
# one precision for every worker: "auto" probes and verifies per process and may settle on bf16
# in one worker and fp32 in another, which would time the backends instead of the workers
_select = predict.select_backend
predict.select_backend = lambda loaded, stamps, precision="auto", **kw: _select(loaded, stamps, "fp32", **kw)
from webapp.worker import Worker, default_handlers
Worker(make_engine(sys.argv[1]), default_handlers(stamps=synthetic_stamps), worker_id=sys.argv[2],
       heartbeat_s=1.0).run(idle_exit=True)
"""


def synthetic_stamps(session, candidate_ids) -> np.ndarray:
    """Noise stamps with a source (what the network costs does not depend on the pixels)."""
    ids = np.asarray(candidate_ids, dtype=np.int64)
    rng = np.random.default_rng(int(ids[0]) if len(ids) else 0)
    stamps = rng.normal(0.0, 0.1, (len(ids), 5, 32, 32)).astype(np.float32)
    stamps[:, :, 14:18, 14:18] += 1.0
    return stamps


def scoring(url: str, n_candidates: int, tmp: Path) -> list[tuple[int, float, float, float, int]]:
    """(workers, seconds, seconds from first claim to last shard, load average, shards): a 4-galaxy survey, lite network."""
    import torch

    from starcnet_core.nn.checkpoint import save_checkpoint
    from starcnet_core.nn.model import PRESETS, StarcNet
    from webapp.services.model_versions import import_model
    from webapp.services.scoring import plan_shards

    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    per_galaxy = n_candidates // 4
    with sessions() as session:
        galaxies = [Galaxy(name=f"survey{g}") for g in range(4)]
        session.add_all(galaxies)
        session.commit()
        gids = [g.id for g in galaxies]
    rng = np.random.default_rng(0)
    bulk_insert(
        engine,
        "candidate",
        {
            "galaxy_id": np.repeat(gids, per_galaxy),
            "source_id": np.tile(np.arange(1, per_galaxy + 1), 4),
            "x": rng.uniform(20, 980, 4 * per_galaxy).round(2),
            "y": rng.uniform(20, 980, 4 * per_galaxy).round(2),
            "usable": [True] * (4 * per_galaxy),
            "unusable_reason": [""] * (4 * per_galaxy),
            "shuffle_key": rng.random(4 * per_galaxy).round(6),
            "properties": ["{}"] * (4 * per_galaxy),
            "n_votes": np.zeros(4 * per_galaxy, dtype=int),
        },
    )
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp / "lite.pt", StarcNet(PRESETS["lite"]), band_mean=np.zeros(5))
    results = []
    for n_workers in (1, 2):
        with sessions() as session:
            version = import_model(session, checkpoint, f"lite-{n_workers}").id
            # the shards a score job would plan: a quarter of a galaxy each, so two workers share every galaxy
            shards = plan_shards(session, version, shard_size=max(1, per_galaxy // 4))
            with use_case(session):
                queued = jobs.enqueue_many(session, "score_shard", [s.params() for s in shards])
        env = {**os.environ, "OMP_NUM_THREADS": "1", "STARCNET_DATA_DIR": str(tmp / "data")}
        code = _WORKER.format(root=str(ROOT), bench=str(ROOT / "benchmarks"))
        started = time.perf_counter()
        processes = [
            subprocess.Popen([sys.executable, "-c", code, url, f"bench{k}"], env=env)
            for k in range(n_workers)
        ]
        for process in processes:
            process.wait()
        seconds = time.perf_counter() - started
        with sessions() as session:
            stored = session.scalar(
                select(func.count()).select_from(Prediction).where(Prediction.model_version_id == version)
            )
            # from the first claim to the last finished shard: without the workers' Python start-up
            first, last = session.execute(
                select(func.min(Job.started_at), func.max(Job.finished_at)).where(
                    Job.kind == "score_shard", Job.id.in_(queued)
                )
            ).one()
        if stored != 4 * per_galaxy:
            raise RuntimeError(f"{n_workers} worker(s) stored {stored} of {4 * per_galaxy} predictions")
        claimed_s = (last - first).total_seconds()
        results.append((n_workers, seconds, claimed_s, load(), len(shards)))
        log(
            f"scoring with {n_workers} worker(s): {seconds:.1f} s, {claimed_s:.1f} s from first claim to last shard"
        )
    engine.dispose()
    return results


def postgres_url() -> tuple[str, callable]:
    """A fresh database on the test server, and the function that drops it."""
    server = os.environ.get("STARCNET_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("bench_scale: set STARCNET_TEST_POSTGRES_URL (or pass --backends sqlite)")
    name = f"starcnet_bench_{uuid.uuid4().hex[:8]}"
    url = create_postgres_database(server, name)
    return url, lambda: drop_postgres_database(server, name)


def database(backend: str, tmp: Path, tag: str) -> tuple[str, callable]:
    if backend == "postgres":
        return postgres_url()
    return f"sqlite:///{tmp / f'{tag}.sqlite'}", lambda: None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--backends", nargs="+", default=["postgres", "sqlite"], choices=["postgres", "sqlite"]
    )
    parser.add_argument("--score-candidates", type=int, default=3000)
    parser.add_argument("--no-scoring", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--prepared",
        type=Path,
        help="keep the built databases (SQLite files in this folder, PostgreSQL databases starcnet_scale_N)"
        " and reuse them when present",
    )
    parser.add_argument("--build-only", action="store_true", help="with --prepared: build, time nothing")
    parser.add_argument(
        "--check-up-to",
        type=int,
        default=100_000,
        help="rebuild the consensus cache with refresh_consensus_cache (timed) and compare, up to this size",
    )
    args = parser.parse_args()
    began = time.perf_counter()
    rows: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    built: dict[tuple[str, int], tuple[int, float, float, float]] = {}
    score_rows: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for backend in args.backends:
            for n in args.sizes:
                if args.prepared:
                    url, drop = prepared_database(backend, args.prepared, n), lambda: None
                else:
                    url, drop = database(backend, tmp, f"scale{n}")
                try:
                    engine = make_engine(url)
                    upgrade(engine)
                    world = describe(engine) if args.prepared else None
                    if world is None:
                        log(f"{backend}: building {n:,} candidates")
                        started = time.perf_counter()
                        world = populate(engine, n, check_cache=n <= args.check_up_to)
                        built[(backend, n)] = (
                            world["n_labels"],
                            time.perf_counter() - started,
                            world["rebuild_s"],
                            load(),
                        )
                        log(f"{backend}: built {n:,} in {built[(backend, n)][1]:.0f} s")
                    else:
                        log(f"{backend}: reusing the prepared {world['n']:,} candidates")
                        if n <= args.check_up_to and not args.build_only:
                            rebuild_s = rebuild_and_compare(engine)
                            built[(backend, n)] = (world["n_labels"], None, rebuild_s, load())
                            log(f"{backend}: consensus cache rebuilt and unchanged in {rebuild_s:.1f} s")
                    if args.build_only:
                        engine.dispose()
                        continue
                    for name, ms, at in measure(engine, world, args.repeat):
                        rows.setdefault((backend, name), {})[n] = (ms, at)
                    engine.dispose()
                finally:
                    drop()
            if not args.no_scoring and not args.build_only:
                url, drop = database(backend, tmp, "survey")
                try:
                    score_rows[backend] = scoring(url, args.score_candidates, tmp)
                finally:
                    drop()
    total_min = (time.perf_counter() - began) / 60
    print("## bench_scale: survey scale on SQLite and PostgreSQL\n")
    print(
        f"`python benchmarks/bench_scale.py`; CPU flags: {instruction_sets()}; {os.cpu_count()} cores shared with other"
        f" engineers' work, so every figure carries the 1-minute load average when it was taken. Total run"
        f" {total_min:.1f} min. PostgreSQL: the test server ({_server_version(args)})."
        " Median wall times after one untimed warm-up call (the export: one timed call after the warm-up).\n"
    )
    print(
        "Data: N candidates in 10 galaxies, predictions of the active model, a third of the candidates labelled by"
        " three of 20 experts (70% agreeing, 5% unsure), 1% changes of mind, half of them undone; rows made by COPY"
        " (PostgreSQL) or executemany (SQLite), with the consensus caches computed in numpy; up to"
        f" {args.check_up_to:,} candidates `refresh_consensus_cache` then rebuilds the caches from the labels"
        " (timed below) and the run stops unless both agree.\n"
    )
    print("| backend | candidates | labels | build s | cache rebuild s | load |")
    print("|---|---:|---:|---:|---:|---:|")
    for (backend, n), (n_labels, build_s, rebuild_s, at) in built.items():
        rebuild = "not run" if rebuild_s is None else f"{rebuild_s:.1f}"
        build = "prepared earlier" if build_s is None else f"{build_s:.0f}"
        print(f"| {backend} | {n:,} | {n_labels:,} | {build} | {rebuild} | {at:.1f} |")
    print()
    sizes = args.sizes
    print("| backend | operation | " + " | ".join(f"{n:,}" for n in sizes) + " | target at 1M (PostgreSQL) |")
    print("|---|---|" + "---:|" * len(sizes) + "---|")
    for (backend, name), by_size in rows.items():
        cells = [f"{by_size[n][0]:.1f} ms (load {by_size[n][1]:.1f})" if n in by_size else "" for n in sizes]
        target = TARGETS_MS.get(name)
        verdict = ""
        if backend == "postgres" and target is not None and 1_000_000 in by_size:
            verdict = f"<= {target} ms: " + ("**met**" if by_size[1_000_000][0] <= target else "**missed**")
        print(f"| {backend} | {name} | " + " | ".join(cells) + f" | {verdict} |")
    if score_rows:
        print(
            f"\nScoring {args.score_candidates:,} candidates of 4 galaxies with the `lite` network, synthetic"
            " stamps, one torch thread per worker; the shards (a quarter of a galaxy each) queued as one score"
            " job plans them, then N `Worker` processes started together until the queue is empty:\n"
        )
        print(
            "| backend | workers | shards | wall s (processes started to all exited) | first claim to last shard s"
            " | load | ratio to one worker, claim to last shard (target <= 0.6) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for backend, results in score_rows.items():
            one = results[0][2]
            for n_workers, seconds, claimed_s, at, shards in results:
                ratio = claimed_s / one
                verdict = "" if n_workers == 1 else (" **met**" if ratio <= 0.6 else " **missed**")
                print(
                    f"| {backend} | {n_workers} | {shards} | {seconds:.1f} | {claimed_s:.1f} | {at:.1f}"
                    f" | {ratio:.2f}{verdict} |"
                )
    return 0


def _server_version(args) -> str:
    if "postgres" not in args.backends:
        return "not run"
    engine = create_engine(os.environ["STARCNET_TEST_POSTGRES_URL"])
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return f"PostgreSQL {version}"


if __name__ == "__main__":
    sys.exit(main())
