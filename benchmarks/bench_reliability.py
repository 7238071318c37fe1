"""Reliability on a shared lab server: concurrent writers, crashes, bad inputs, security checks.

Writes ``docs/RELIABILITY.md`` (and prints the same section for ``run_all.py``):

* **Concurrency.** Each round starts, at one barrier, N importer processes
  (``python -m webapp import-labels``, one CSV of L labels per expert, five
  of them byte-identical) and N browser-style writers (one transaction per
  label through :func:`webapp.services.labels.record_label`, with an undo now
  and then), on SQLite and on PostgreSQL (``STARCNET_TEST_POSTGRES_URL``).
  Afterwards: labels lost (rows the processes reported as written minus rows
  stored) and stored-consensus mismatches (``python -m webapp check``).
* **Crashes.** SIGKILL of ``import-labels`` mid-transaction, of a process
  writing a job's checkpoint (the worker then recovers the job and must leave
  no temporary file), and of a worker mid-job; the database must open, hold
  all or none of the import, and pass ``check``. The SIGKILL mid-training
  test of the suite runs too.
* **Bad inputs** and **security checks**: the suite's tests that feed them
  (``tests/test_cli_bad_input.py``, ``tests/test_security.py``, the sign-in,
  plain-text and server-directory page tests, the append-only schema tests).

    python benchmarks/bench_reliability.py [--rounds 5] [--processes 8] [--labels 500]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run_all import instruction_sets, machine_description  # noqa: E402
from db import jobs  # noqa: E402
from db.engine import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    make_engine,
    session_factory,
    use_case,
)
from db.migrate import upgrade  # noqa: E402
from db.models import Candidate, Expert, Galaxy, Label  # noqa: E402
from webapp.cli import main as webapp_main  # noqa: E402
from webapp.services.integrity import check_consensus  # noqa: E402
from webapp.services.labels import record_label, undo_label  # noqa: E402
from webapp.worker import Worker  # noqa: E402

OUTPUT = ROOT / "docs" / "RELIABILITY.md"
N_CANDIDATES = 520


# ----------------------------------------------------------------------------- concurrency


def _prepare(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        galaxy = Galaxy(name="busy")
        session.add(galaxy)
        session.flush()
        session.add_all(
            Candidate(galaxy_id=galaxy.id, source_id=i, x=float(i), y=float(i), usable=True)
            for i in range(1, N_CANDIDATES + 1)
        )
        session.add_all(Expert(name=f"{kind}{k}") for kind in ("imp", "web") for k in range(n))
        session.commit()
    engine.dispose()


def _importer(url: str, path: str, expert: str, n_labels: int, barrier, results) -> None:  # noqa: ANN001
    barrier.wait()
    status = 1
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # stdout is the report's
            status = webapp_main(["import-labels", path, "--expert", expert, "--database-url", url])
    finally:
        results.put(("import", expert, status, n_labels if status == 0 else 0))


def _writer(url: str, expert: str, n_labels: int, seed: int, barrier, results) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as session:
        expert_id = session.scalar(select(Expert.id).where(Expert.name == expert))
        ids = session.scalars(select(Candidate.id).order_by(Candidate.id)).all()
    barrier.wait()
    written, status = 0, 1
    try:
        for _ in range(n_labels):
            candidate = int(rng.choice(ids))
            with sessions() as session:
                cls = int(rng.integers(1, 5))
                record_label(session, candidate_id=candidate, expert_id=expert_id, label_class=cls)
                written += 1
                if rng.random() < 0.1:  # a change of mind, as the z key does
                    undo_label(session, candidate_id=candidate, expert_id=expert_id)
                    written += 1
        status = 0
    finally:
        engine.dispose()
        results.put(("write", expert, status, written))


def concurrency_round(url: str, n: int, n_labels: int, n_writes: int, seed: int, folder: Path) -> dict:
    """One round on a fresh database: labels lost, consensus mismatches, seconds."""
    _prepare(url, n)
    rng = np.random.default_rng(seed)
    agreed = rng.integers(1, 5, N_CANDIDATES)
    files = []
    for k in range(n):
        classes = agreed if k < 5 else rng.integers(1, 5, N_CANDIDATES)
        path = folder / f"labels_{seed}_{k}.csv"
        picked = (
            np.arange(1, n_labels + 1)
            if k < 5
            else rng.choice(np.arange(1, N_CANDIDATES + 1), n_labels, replace=False)
        )
        path.write_text("galaxy,id,class\n" + "".join(f"busy,{i},{classes[i - 1]}\n" for i in picked))
        files.append(path)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2 * n)
    results = context.Queue()
    processes = [
        context.Process(target=_importer, args=(url, str(files[k]), f"imp{k}", n_labels, barrier, results))
        for k in range(n)
    ] + [
        context.Process(target=_writer, args=(url, f"web{k}", n_writes, seed * 100 + k, barrier, results))
        for k in range(n)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    reports = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    seconds = time.perf_counter() - started
    written = sum(r[3] for r in reports)
    failed = sum(1 for r in reports if r[2] != 0) + sum(1 for p in processes if p.exitcode != 0)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        stored = session.scalar(select(func.count()).select_from(Label))
        check = check_consensus(session)
    engine.dispose()
    return {
        "lost": written - stored,
        "mismatches": len(check.mismatches),
        "failed": failed,
        "labels": stored,
        "seconds": seconds,
    }


def _postgres_url(server: str) -> tuple[str, str]:
    name = f"starcnet_rel_{uuid.uuid4().hex[:10]}"
    return create_postgres_database(server, name), name


def concurrency(rounds: int, n: int, n_labels: int, n_writes: int, folder: Path) -> dict[str, list[dict]]:
    found = {"SQLite": []}
    for r in range(rounds):
        found["SQLite"].append(
            concurrency_round(f"sqlite:///{folder / f'round{r}.sqlite'}", n, n_labels, n_writes, r, folder)
        )
        print(f"SQLite round {r}: {found['SQLite'][-1]}", file=sys.stderr, flush=True)
    server = os.environ.get("STARCNET_TEST_POSTGRES_URL")
    if server:
        found["PostgreSQL"] = []
        for r in range(rounds):
            url, name = _postgres_url(server)
            try:
                found["PostgreSQL"].append(concurrency_round(url, n, n_labels, n_writes, r, folder))
            finally:
                drop_postgres_database(server, name)
            print(f"PostgreSQL round {r}: {found['PostgreSQL'][-1]}", file=sys.stderr, flush=True)
    return found


# ----------------------------------------------------------------------------- crashes


def _labels_and_check(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(Label))
        mismatches = len(check_consensus(session).mismatches)
    engine.dispose()
    return count, mismatches


def _start_import(url: str, path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "webapp",
            "import-labels",
            str(path),
            "--expert",
            "imp0",
            "--database-url",
            url,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def crash_import(folder: Path, attempt: int, n_tries: int) -> tuple[bool, str]:
    """SIGKILL ``import-labels`` of 40,000 rows late in its run: all or none stored, consensus exact.

    An uninterrupted import is timed first; the kill comes at 70-95% of that
    time, when the command is writing (its start-up and the reading of the
    file come first). Returns (survived, what the database held).
    """
    rows = "".join(f"busy,{1 + i % N_CANDIDATES},{1 + i % 4}\n" for i in range(40_000))
    path = folder / f"big_{attempt}.csv"
    path.write_text("galaxy,id,class\n" + rows)
    timing = f"sqlite:///{folder / f'crash_timing{attempt}.sqlite'}"
    _prepare(timing, 1)
    started = time.perf_counter()
    _start_import(timing, path).wait()
    full = time.perf_counter() - started
    url = f"sqlite:///{folder / f'crash_import{attempt}.sqlite'}"
    _prepare(url, 1)
    fraction = 0.7 + 0.25 * attempt / max(1, n_tries - 1)
    process = _start_import(url, path)
    time.sleep(fraction * full)
    finished_first = process.poll() is not None
    process.send_signal(signal.SIGKILL)
    process.wait()
    count, mismatches = _labels_and_check(url)
    held = "finished before the kill" if finished_first else f"{count} labels after the kill"
    print(f"import kill {attempt} at {fraction:.0%} of {full:.1f} s: {held}", file=sys.stderr)
    return count in (0, 40_000) and mismatches == 0, f"{fraction:.0%}: {held}"


_CHECKPOINT_WRITER = """
import sys, time, numpy as np
from db import jobs
from db.engine import make_engine, session_factory, use_case
from starcnet_core.nn.checkpoint import save_checkpoint
from starcnet_core.nn.model import StarcNet
sessions = session_factory(make_engine(sys.argv[1]))
with sessions() as session, use_case(session):
    job = jobs.claim_next(session, "doomed")
model = StarcNet()
while True:  # write until killed, as a slow disk would make the last write of a retrain
    save_checkpoint(sys.argv[2] + f"/quick-job{job.id}-20261201-000000.pt", model, band_mean=np.zeros(5))
"""


def crash_checkpoint(folder: Path, attempt: int) -> bool:
    """SIGKILL a job's process while it writes its checkpoint; recovery must leave no file of the job."""
    data = folder / f"data_ckpt{attempt}"
    models = data / "models"
    models.mkdir(parents=True)
    url = f"sqlite:///{data / 'ckpt.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session, use_case(session):
        job = jobs.enqueue(session, "retrain", {})
    env = {**os.environ, "STARCNET_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", _CHECKPOINT_WRITER, url, str(models)], cwd=ROOT, env=env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.name.startswith(".") for p in models.iterdir()):
        time.sleep(0.01)
    time.sleep(0.05 * attempt)
    process.send_signal(signal.SIGKILL)
    process.wait()
    left_before = sorted(p.name for p in models.iterdir())
    os.environ["STARCNET_DATA_DIR"] = str(data)
    time.sleep(0.3)
    Worker(engine, {}, stale_after_s=0.2).run_once()
    del os.environ["STARCNET_DATA_DIR"]
    left = sorted(p.name for p in models.iterdir())
    with session_factory(engine)() as session:
        status = jobs.get_job(session, job.id).status
    engine.dispose()
    print(f"checkpoint kill {attempt}: left {left_before} -> {left}, job {status}", file=sys.stderr)
    return not left and status == "failed" and any(".pt." in name for name in left_before)


def crash_worker(folder: Path, attempt: int) -> bool:
    """The suite's SIGKILL tests: a worker mid-job, and mid-training (registry and active model intact)."""
    tests = [
        "tests/test_worker.py::test_sigkilled_worker_job_is_recovered_as_failed",
        "tests/test_retrain.py::test_sigkill_mid_training_leaves_the_registry_and_active_model_intact",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", tests[attempt % 2], "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0


def suite_counts(paths: list[str]) -> tuple[int, int]:
    """(passed, tried) of the pytest node ids or files ``paths``."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider", "-rN"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1]
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", summary))
    failed = sum(int(n) for n in re.findall(r"(\d+) (?:failed|error)", summary))
    return passed, passed + failed


SECURITY_TESTS = [
    "tests/test_security.py",
    "tests/test_app_pages.py::test_new_expert_and_shared_password",
    "tests/test_app_pages.py::test_wrong_passwords_are_rate_limited",
    "tests/test_app_pages.py::test_markdown_in_an_expert_name_is_shown_as_text",
    "tests/test_app_pages.py::test_server_directories_are_for_admins_under_the_data_roots",
    "tests/test_db_schema.py::test_labels_are_append_only",
    "tests/test_db_schema.py::test_a_retraction_cannot_be_replaced",
    "tests/test_db_schema.py::test_postgres_migration_matches_models_and_keeps_labels_append_only",
]


def report(found: dict, crashes: dict, bad: tuple[int, int], security: tuple[int, int], args) -> str:
    n, L, W = args.processes, args.labels, args.writer_labels
    lines = [
        "## bench_reliability",
        "",
        f"`python benchmarks/bench_reliability.py --rounds {args.rounds} --processes {n} --labels {L} "
        f"--writer-labels {W}`. "
        f"Each round: {n} importers (`import-labels`, {L} labels each, five files byte-identical) and {n} "
        f"browser-style writers ({W} labels each, one transaction per label, 10% followed by an undo) start "
        f"at one barrier on a fresh database of {N_CANDIDATES} candidates. Goal: 0 labels lost and 0 "
        "stored-consensus mismatches (`python -m webapp check`).",
        "",
        "| engine | rounds | labels stored per round | labels lost | consensus mismatches | processes failed | seconds per round |",
        "|---|---|---|---|---|---|---|",
    ]
    for engine, rounds in found.items():
        lines.append(
            f"| {engine} | {len(rounds)} | {min(r['labels'] for r in rounds)}-{max(r['labels'] for r in rounds)} "
            f"| {sum(r['lost'] for r in rounds)} | {sum(r['mismatches'] for r in rounds)} "
            f"| {sum(r['failed'] for r in rounds)} | {np.median([r['seconds'] for r in rounds]):.0f} (median) |"
        )
    if "PostgreSQL" not in found:
        lines.append("| PostgreSQL | not run (`STARCNET_TEST_POSTGRES_URL` unset) | | | | | |")
    lines += ["", "| crash (SIGKILL) | survived / tried |", "|---|---|"]
    for name, outcomes in crashes.items():
        lines.append(f"| {name} | {sum(outcomes)} / {len(outcomes)} |")
    lines += [
        "",
        f"Bad inputs handled (exit 2, one line naming the file or argument, nothing written; "
        f"`tests/test_cli_bad_input.py`): **{bad[0]} / {bad[1]}**.",
        "",
        f"Security checks passed (plain-text names, rate-limited sign-in with the expert list behind the "
        f"password, server directories for admins under the data roots, append-only labels against "
        f"UPDATE, DELETE, INSERT OR REPLACE and TRUNCATE): **{security[0]} / {security[1]}** tests.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--labels", type=int, default=500, help="labels per importer")
    parser.add_argument(
        "--writer-labels",
        type=int,
        default=100,
        help="labels per browser-style writer (one transaction each: 8 x 500 take ~20 min on 2 busy cores)",
    )
    parser.add_argument("--crashes", type=int, default=3, help="tries of each crash")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        found = concurrency(args.rounds, args.processes, args.labels, args.writer_labels, folder)
        imports = [crash_import(folder, a, args.crashes) for a in range(args.crashes)]
        crashes = {
            "`import-labels` of 40,000 rows, killed at 70-95% of an uninterrupted run's time ("
            + "; ".join(held for _, held in imports)
            + ")": [survived for survived, _ in imports],
            "a job writing its checkpoint (then recovered: no temporary file left)": [
                crash_checkpoint(folder, a) for a in range(args.crashes)
            ],
            "worker mid-job; worker mid-training (suite tests)": [crash_worker(folder, a) for a in range(2)],
        }
    bad = suite_counts(["tests/test_cli_bad_input.py"])
    security = suite_counts(SECURITY_TESTS)
    section = report(found, crashes, bad, security, args)
    print(section)
    stamp = (
        f"*Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine_description()}; CPU flags: "
        f"{instruction_sets()}; 1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        "(2 means both cores busy).*\n"
    )
    OUTPUT.write_text(
        "# Reliability\n\n"
        "What a lab keeping years of expert labels on a shared server relies on, measured by "
        "`benchmarks/bench_reliability.py` (which wrote this file).\n\n" + stamp + "\n" + section
    )
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
