"""Importing model predictions: the published StarcNet output file, per galaxy and model version.

The published StarcNet code writes one line per candidate: id, x, y,
predicted class and the four softmax scores (two decimals). Importing such a
file attaches its predictions to a galaxy's candidates under a named model
version (created when new: the active one when none is active yet, else a
candidate). Every id must be a candidate of the galaxy, and a model version
holds one prediction per candidate: importing the same predictions twice is
refused, with nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from db.engine import use_case
from db.galaxies import candidate_ids_by_source
from db.models import ModelVersion
from db.predictions import active_model_version, store_predictions
from db.registry import version_by_name
from db.scoring import count_predictions
from starcnet_core.errors import UserInputError
from starcnet_core.io.published import read_starcnet_tab
from starcnet_core.scores import score_summaries
from webapp.services.galaxies import galaxy_id_of

__all__ = ["PredictionImport", "get_or_create_model_version", "import_predictions"]


@dataclass(frozen=True)
class PredictionImport:
    """What an import wrote: the model version, whether it was new, and how many predictions."""

    model_version_id: int
    model_name: str
    created_model: bool
    status: str
    n_predictions: int


def get_or_create_model_version(session: Session, name: str, **fields) -> tuple[ModelVersion, bool]:
    """The model version called ``name``, or a new one (active when none is); and whether it is new."""
    with use_case(session):
        model = version_by_name(session, name)
        if model is not None:
            return model, False
        status = "proposed" if active_model_version(session) is not None else "active"
        model = ModelVersion(name=name, status=status, **fields)
        session.add(model)
        session.flush()
        return model, True


def import_predictions(session: Session, path: str | Path, *, galaxy: str, model: str) -> PredictionImport:
    """Import a published-StarcNet predictions file for ``galaxy`` under model version ``model``.

    Parameters
    ----------
    session : Session
    path : path
        Tab-separated: id, x, y, class 1-4, ``[p1 - p2 - p3 - p4]``.
    galaxy : str
        Name of an imported galaxy; every id in the file must be one of its candidates.
    model : str
        Model version name (created with mode ``"import"`` when new).
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    table = read_starcnet_tab(path)
    ids = np.asarray(table["id"], dtype=np.int64)
    scores = np.column_stack([np.asarray(table[f"p{k}"], dtype=float) for k in range(1, 5)])
    classes = np.asarray(table["pred_class"], dtype=np.int64)
    if len(np.unique(ids)) != len(ids):
        raise UserInputError(f"{path}: candidate ids repeat")
    with use_case(session):
        galaxy_id = galaxy_id_of(session, galaxy)
        by_source = candidate_ids_by_source(session, galaxy_id)
        unknown = [int(i) for i in ids if int(i) not in by_source]
        if unknown:
            raise UserInputError(
                f"{path}: {len(unknown)} ids are not candidates of {galaxy!r} (first: {unknown[0]})"
            )
        version, created = get_or_create_model_version(
            session, model, mode="import", config={"imported_from": str(path.resolve())}
        )
        candidate_ids = [by_source[int(i)] for i in ids]
        already = count_predictions(session, version.id, candidate_ids)
        if already:
            raise UserInputError(f"model {model!r} already has predictions for {already} of these candidates")
        summaries = score_summaries(scores)
        if classes is not None:
            summaries["predicted_class"] = np.asarray(classes, dtype=np.int64)
        n = store_predictions(session, version.id, candidate_ids, scores, summaries)
        return PredictionImport(version.id, version.name, created, version.status, n)
