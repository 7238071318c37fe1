"""Helpers for the retrain tests: a tiny labelled galaxy with synthetic stamps and a tiny model.

The stamp of candidate ``i`` has a bright source in band ``true_class(i)``, so
a model can learn the classes from few labels; the stamps come from a
:data:`webapp.services.scoring.StampLoader` instead of mosaics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sqlalchemy.orm import Session

from db.models import Candidate, Galaxy
from starcnet_core.nn.checkpoint import save_checkpoint
from starcnet_core.nn.model import StarcNet, StarcNetConfig
from webapp.services.labels import add_expert, record_label
from webapp.services.model_versions import import_model

TINY = StarcNetConfig(width=8, depth=2, pool_after=1, fc_width=8, groups=2, dropout=0.0)


def true_class(candidate_id: int) -> int:
    return (candidate_id * 7) % 4 + 1


def synthetic_stamps(session: Session, candidate_ids) -> np.ndarray:
    ids = np.asarray(candidate_ids, dtype=np.int64)
    out = np.empty((len(ids), 5, 32, 32), np.float32)
    for row, cid in enumerate(ids):
        rng = np.random.default_rng(int(cid))
        out[row] = rng.normal(0.0, 0.2, size=(5, 32, 32))
        out[row, true_class(int(cid)), 13:19, 13:19] += 2.0
    return out


def make_galaxy(session: Session, n: int = 60) -> list[int]:
    galaxy = Galaxy(name="simgal", distance_mpc=10.0)
    session.add(galaxy)
    session.flush()
    rng = np.random.default_rng(0)
    rows = [
        Candidate(
            galaxy_id=galaxy.id,
            source_id=i + 1,
            x=float(rng.uniform(20, 980)),
            y=float(rng.uniform(20, 980)),
            mag_u=float(rng.uniform(20, 24)),
            mag_b=float(rng.uniform(20, 24)),
            mag_v=float(rng.uniform(20, 24)),
            mag_i=float(rng.uniform(20, 24)),
            usable=True,
            shuffle_key=float(rng.uniform()),
        )
        for i in range(n)
    ]
    session.add_all(rows)
    session.commit()
    return [row.id for row in rows]


def label_all(session: Session, candidate_ids, expert: str = "ann") -> None:
    expert_id = add_expert(session, expert)
    session.commit()
    for cid in candidate_ids:
        record_label(session, candidate_id=cid, expert_id=expert_id, label_class=true_class(cid))
    session.commit()


def starting_model(session: Session, directory: Path) -> int:
    """A random tiny network registered and activated; returns its version id."""
    torch.manual_seed(0)
    path = save_checkpoint(directory / "start.pt", StarcNet(TINY), band_mean=np.zeros(5))
    return import_model(session, path, "start", activate=True).id
