"""Retrain time estimates against the time the retrain then took, through the app's own services.

Issue 15 found estimates of 67-1,044 s for retrains that took 33-94 s: they
came from timing a few stamps in the web process. Estimates now come from what
earlier retrain jobs measured on this installation
(:func:`webapp.services.retrain.estimate_seconds`). This script builds a
simulated galaxy in a temporary database (the real import, mosaics and stamp
cutting), activates a ``lite`` network, and for each mode runs a first retrain
(nothing measured yet, so no estimate) and then retrains with other epoch
counts, each queued with the estimate made from the jobs before it and run by
the real worker; it prints estimate, actual time and their ratio. Prints one
markdown section.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.run_all import instruction_sets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument(
        "--runs", default="quick:40,quick:80,full:1,full:2,scratch:1,scratch:2", help="MODE:EPOCHS, in order"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        os.environ["STARCNET_DATA_DIR"] = str(Path(directory) / "data")
        rows = _measure(Path(directory), args.candidates, args.runs.split(","))
    load = os.getloadavg()[0]
    print("## bench_retrain_estimate: retrain time estimates from earlier jobs' measurements\n")
    print(
        f"Simulated galaxy of {args.candidates} candidates (catalog labels, `--include-catalog`), active "
        f"network `lite`, the real worker cutting stamps from the mosaics. CPU flags: {instruction_sets()}; "
        f"1-min load average at the end: {load:.1f} (the machine's cores are shared).\n"
    )
    print("| job | mode | epochs | labels | estimate (s) | actual (s) | actual / estimate |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        estimate = "none (nothing measured yet)" if row["estimate"] is None else f"{row['estimate']:.1f}"
        ratio = "" if row["estimate"] is None else f"{row['actual'] / row['estimate']:.2f}"
        print(
            f"| {row['job']} | {row['mode']} | {row['epochs']} | {row['labels']} | {estimate} "
            f"| {row['actual']:.1f} | {ratio} |"
        )


def _measure(directory: Path, n_candidates: int, runs: list[str]) -> list[dict]:
    import numpy as np
    import torch

    from db import jobs
    from starcnet_core.nn.checkpoint import save_checkpoint
    from starcnet_core.nn.model import PRESETS, StarcNet
    from starcnet_core.sim import simulate_galaxy
    from webapp.services.database import init_database
    from webapp.services.galaxies import import_galaxy
    from webapp.services.held_out import grow_held_out_set
    from webapp.services.model_versions import import_model
    from webapp.services.retrain import RetrainRequest, request_retrain
    from webapp.worker import Worker, default_handlers

    database = init_database(f"sqlite:///{directory / 'bench.sqlite'}")
    galaxy = simulate_galaxy(
        directory / "simgal", size=1000, n_candidates=n_candidates, seed=0, field="simgal"
    )
    torch.manual_seed(0)
    checkpoint = save_checkpoint(directory / "lite.pt", StarcNet(PRESETS["lite"]), band_mean=np.zeros(5))
    with database.sessions() as session:
        import_galaxy(session, galaxy, name="simgal", distance_mpc=10.0)
        import_model(session, checkpoint, "lite", activate=True)
        grow_held_out_set(session)
    worker = Worker(database.engine, default_handlers(), worker_id="bench")
    worker.run(idle_exit=True)  # the activation's scoring
    rows = []
    for run in runs:
        mode, epochs = run.split(":")
        with database.sessions() as session:
            request = RetrainRequest(mode=mode, epochs=int(epochs), include_catalog=True, preset="lite")
            job = request_retrain(session, request)
        started = time.perf_counter()
        worker.run(idle_exit=True)
        with database.sessions() as session:
            done = jobs.get_job(session, job.id)
        if done.status != "succeeded":
            raise SystemExit(f"retrain job {job.id} {done.status}: {done.error}")
        rows.append(
            {
                "job": job.id,
                "mode": mode,
                "epochs": int(epochs),
                "labels": done.result["n_fit"] + done.result["n_validation"],
                "estimate": done.params.get("estimated_seconds"),
                "actual": (done.finished_at - done.started_at).total_seconds(),
                "wall": time.perf_counter() - started,
            }
        )
        print(f"job {job.id} {mode}:{epochs}: {rows[-1]}", file=sys.stderr, flush=True)
    database.engine.dispose()
    return rows


if __name__ == "__main__":
    main()
