"""The numbers behind the Metrics page: model against consensus, per candidate, as arrays.

One query joins each candidate's cached consensus, the active model's scores,
the galaxy distance and the catalog photometry; the figures
(:mod:`webapp.components.metrics_figures`) and the agreement report
(:func:`webapp.services.agreement.agreement_report`) do the rest.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from db.engine import use_case
from db.predictions import active_model_version
from db.scoring import metrics_rows

__all__ = ["PROPERTY_KEYS", "scored_candidates"]

#: Catalog properties shown per class when present (keys of ``Candidate.properties``).
PROPERTY_KEYS: tuple[str, ...] = ("age", "mass", "ebv")


def _property(properties: dict, key: str) -> float:
    properties = properties or {}
    value = properties.get(key)
    if not isinstance(value, (int, float)):
        return np.nan
    # LEGUS writes 0 in every SED column where no fit was made (Nflt < 4): no age or
    # mass is zero, but E(B-V) = 0 is a fitted value (2-20% of LEGUS fits) when the age is not.
    if key == "ebv" and "age" in properties:
        age = properties["age"]
        return float(value) if isinstance(age, (int, float)) and age > 0 and value >= 0 else np.nan
    return float(value) if value > 0 else np.nan


def scored_candidates(session: Session, galaxy_id: int | None = None) -> dict[str, np.ndarray]:
    """Candidates scored by the active model, with their consensus (0 where none is decided).

    Returns
    -------
    dict
        Arrays: ``consensus`` (0-4), ``scores`` (N, 4), ``predicted`` (1-4),
        ``galaxy`` (names), ``distance_mpc``, ``mag_u``/``mag_b``/``mag_v``/``mag_i``
        (Vega mag, NaN where missing or undetected), and one array per
        :data:`PROPERTY_KEYS`. Empty arrays without an active model.
    """
    with use_case(session):
        version = active_model_version(session)
        rows = metrics_rows(session, version.id if version is not None else -1, galaxy_id)
    columns = list(zip(*rows, strict=True)) or [()] * 13

    def numbers(values) -> np.ndarray:  # noqa: ANN001
        # LEGUS sentinels (99.999 not detected, ...) were stored as None at import
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    result = {
        "consensus": np.array([c or 0 for c in columns[0]], dtype=np.int64),
        "scores": np.array(columns[1:5], dtype=float).T.reshape(len(rows), 4),
        "predicted": np.array(columns[5], dtype=np.int64),
        "galaxy": np.array(columns[6], dtype=str),
        "distance_mpc": numbers(columns[7]),
        **{
            name: numbers(values)
            for name, values in zip(("mag_u", "mag_b", "mag_v", "mag_i"), columns[8:12], strict=True)
        },
    }
    for key in PROPERTY_KEYS:
        result[key] = np.array([_property(p, key) for p in columns[12]], dtype=float)
    return result
