"""Agreement report of a galaxy: experts among themselves, with the consensus, and the model.

What ``python -m webapp agreement`` prints and the app's agreement page shows:
:func:`db.agreement.expert_agreement` and :func:`db.agreement.model_agreement`
for one galaxy (or all), by galaxy and model names, JSON-ready.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.agreement import expert_agreement, model_agreement
from db.models import Galaxy, ModelVersion
from db.predictions import active_model_version
from starcnet_core.errors import UserInputError

__all__ = ["agreement_report"]


def agreement_report(
    session: Session,
    *,
    galaxy: str | None = None,
    model: str | None = None,
    roles: Sequence[str] | None = None,
) -> dict:
    """Expert and model agreement for ``galaxy`` (default all galaxies).

    Parameters
    ----------
    session : Session
    galaxy : str, optional
        Galaxy name.
    model : str, optional
        Model version name; default the active one. Without any model the
        report has ``"model": None``.
    roles : sequence of str, optional
        Only experts with these roles (``["expert", "admin"]`` leaves out catalog pseudo-experts).

    Returns
    -------
    dict
        ``galaxy``, ``model_name``, ``experts`` (see :func:`db.agreement.expert_agreement`)
        and ``model`` (see :func:`db.agreement.model_agreement`: model in columns, consensus in rows).
    """
    galaxy_id = None
    if galaxy is not None:
        galaxy_id = session.scalar(select(Galaxy.id).where(Galaxy.name == galaxy))
        if galaxy_id is None:
            raise UserInputError(f"unknown galaxy {galaxy!r}")
    if model is not None:
        version = session.scalars(select(ModelVersion).where(ModelVersion.name == model)).one_or_none()
        if version is None:
            raise UserInputError(f"unknown model version {model!r}")
    else:
        version = active_model_version(session)
    return {
        "galaxy": galaxy,
        "model_name": version.name if version else None,
        "experts": expert_agreement(session, galaxy_id=galaxy_id, roles=roles),
        "model": (
            model_agreement(session, model_version_id=version.id, galaxy_id=galaxy_id, roles=roles)
            if version
            else None
        ),
    }
