"""Exporting a galaxy: candidates with their consensus, votes and the model's latest scores.

Formats: ``csv``, ``ecsv`` and ``fits`` (an astropy Table, one row per
candidate), ``starcnet-tab`` (the published StarcNet output layout, for tools
that read it) and ``ds9`` (a region file of the candidates coloured by class:
the consensus where the experts decided, else the model's class).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.consensus import consensus
from db.models import Candidate, Galaxy, ModelVersion, Prediction
from db.predictions import active_model_version
from starcnet_core.errors import UserInputError
from starcnet_core.io.published import write_starcnet_tab
from starcnet_core.io.regions import write_ds9_regions

__all__ = ["EXPORT_FORMATS", "galaxy_table", "export_galaxy"]

EXPORT_FORMATS: tuple[str, ...] = ("csv", "ecsv", "fits", "starcnet-tab", "ds9")


def _model(session: Session, model: str | None) -> ModelVersion | None:
    if model is None:
        return active_model_version(session)
    version = session.scalars(select(ModelVersion).where(ModelVersion.name == model)).one_or_none()
    if version is None:
        raise UserInputError(f"unknown model version {model!r}")
    return version


def galaxy_table(session: Session, galaxy: str, *, model: str | None = None) -> Table:
    """One row per candidate of ``galaxy``: position, V mag, consensus, votes, model scores.

    Columns: ``id``, ``x``, ``y`` (1-based pixels), ``ra``, ``dec`` (deg),
    ``mag_V``, ``usable``, ``consensus`` (1-4; 0 none; -1 undecided),
    ``consensus_mean``, ``n_votes``, ``n_unsure``, ``agreement``,
    ``votes_1``..``votes_4``, ``pred_class`` (0 without prediction) and ``p1``..``p4``
    of ``model`` (default the active version; NaN without prediction).
    """
    galaxy_id = session.scalar(select(Galaxy.id).where(Galaxy.name == galaxy))
    if galaxy_id is None:
        raise UserInputError(f"unknown galaxy {galaxy!r}")
    version = _model(session, model)
    rows = session.execute(
        select(
            Candidate.id,
            Candidate.source_id,
            Candidate.x,
            Candidate.y,
            Candidate.ra,
            Candidate.dec,
            Candidate.mag_v,
            Candidate.usable,
        )
        .where(Candidate.galaxy_id == galaxy_id)
        .order_by(Candidate.source_id)
    ).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    table = Table()
    for k, name in enumerate(("id", "x", "y", "ra", "dec", "mag_V", "usable"), start=1):
        values = [r[k] for r in rows]
        table[name] = (
            np.array([np.nan if v is None else v for v in values])
            if name in ("ra", "dec", "mag_V")
            else values
        )
    votes = consensus(session, galaxy_id=galaxy_id)
    where = {int(c): i for i, c in enumerate(votes.candidate_id)}
    at = np.array([where.get(int(c), -1) for c in ids], dtype=np.int64)
    has = at >= 0

    def per_candidate(values: np.ndarray, empty: float) -> np.ndarray:
        out = np.full(len(ids), empty, dtype=float if isinstance(empty, float) else np.int64)
        out[has] = values[at[has]]
        return out

    decided = np.where(votes.mode > 0, votes.mode, np.where(votes.n_votes > 0, -1, 0))
    table["consensus"] = per_candidate(decided, 0)
    table["consensus_mean"] = per_candidate(votes.mean, np.nan)
    table["n_votes"] = per_candidate(votes.n_votes, 0)
    table["n_unsure"] = per_candidate(votes.n_unsure, 0)
    table["agreement"] = per_candidate(votes.agreement, np.nan)
    for k in range(4):
        table[f"votes_{k + 1}"] = per_candidate(votes.counts[:, k], 0)
    predicted = {}
    if version is not None:
        predicted = {
            cid: (cls, (p1, p2, p3, p4))
            for cid, cls, p1, p2, p3, p4 in session.execute(
                select(
                    Prediction.candidate_id,
                    Prediction.predicted_class,
                    Prediction.p1,
                    Prediction.p2,
                    Prediction.p3,
                    Prediction.p4,
                )
                .join(Candidate, Candidate.id == Prediction.candidate_id)
                .where(Prediction.model_version_id == version.id, Candidate.galaxy_id == galaxy_id)
            ).all()
        }
    table["pred_class"] = [predicted[int(c)][0] if int(c) in predicted else 0 for c in ids]
    scores = np.array([predicted[int(c)][1] if int(c) in predicted else (np.nan,) * 4 for c in ids]).reshape(
        -1, 4
    )
    for k in range(4):
        table[f"p{k + 1}"] = scores[:, k]
    table.meta.update({"galaxy": galaxy, "model": version.name if version else ""})
    return table


def export_galaxy(
    session: Session, galaxy: str, fmt: str, out: str | Path, *, model: str | None = None
) -> Path:
    """Write ``galaxy`` in format ``fmt`` (one of :data:`EXPORT_FORMATS`) to ``out``; return the path."""
    if fmt not in EXPORT_FORMATS:
        raise UserInputError(f"format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    if not out.parent.is_dir():
        raise UserInputError(f"{out.parent}: the output folder does not exist")
    if out.is_dir():
        raise UserInputError(f"{out}: is a folder; name the file to write")
    table = galaxy_table(session, galaxy, model=model)
    if fmt in ("csv", "ecsv", "fits"):
        table.write(
            out, format={"csv": "ascii.csv", "ecsv": "ascii.ecsv", "fits": "fits"}[fmt], overwrite=True
        )
        return out
    if fmt == "starcnet-tab":
        scored = table["pred_class"] > 0
        if not scored.any():
            raise UserInputError(
                f"galaxy {galaxy!r} has no predictions of model {table.meta['model'] or '(none active)'}"
            )
        rows = table[scored]
        write_starcnet_tab(
            out,
            rows["id"],
            rows["x"],
            rows["y"],
            rows["pred_class"],
            np.column_stack([rows[f"p{k}"] for k in range(1, 5)]),
        )
        return out
    # ds9: the experts' decision where there is one, else the model's class.
    classes = np.where(table["consensus"] > 0, table["consensus"], table["pred_class"])
    write_ds9_regions(
        out, np.asarray(table["x"]), np.asarray(table["y"]), classes, labels=[str(i) for i in table["id"]]
    )
    return out
