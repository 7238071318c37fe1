"""Agreement report of a galaxy: experts among themselves, with the consensus, and the model.

What ``python -m webapp agreement`` prints and the app's agreement page shows:
the votes and model-consensus pairs read by :mod:`db.agreement`, compared by
:mod:`starcnet_core.evaluation.agreement` (the one implementation, also used
by the evaluation of stamp sets), for one galaxy (or all), by galaxy and model
names, JSON-ready.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from db.agreement import expert_votes, model_consensus_pairs
from db.engine import use_case
from db.predictions import active_model_version
from db.registry import version_by_name
from starcnet_core.errors import UserInputError
from starcnet_core.evaluation import agreement
from webapp.services.galaxies import galaxy_id_of

__all__ = ["agreement_report", "expert_agreement", "model_agreement"]


def expert_agreement(
    session: Session, *, galaxy_id: int | None = None, roles: Sequence[str] | None = None
) -> dict:
    """Pairwise expert-expert and expert-consensus agreement of the stored labels (the paper's Fig. 3).

    Parameters
    ----------
    session : Session
    galaxy_id : int, optional
        Only this galaxy's candidates.
    roles : sequence of str, optional
        Only experts with these roles (e.g. ``["expert"]`` without catalog pseudo-experts).

    Returns
    -------
    dict
        ``experts`` (id -> name) and the fields of
        :func:`starcnet_core.evaluation.agreement.expert_agreement`.
    """
    with use_case(session):
        votes = expert_votes(session, galaxy_id=galaxy_id, roles=roles)
    return {
        "experts": {int(i): name for i, name in zip(votes.expert_ids, votes.expert_names, strict=True)},
        **agreement.expert_agreement(votes.votes, votes.consensus, votes.expert_names),
    }


def model_agreement(
    session: Session,
    *,
    model_version_id: int | None = None,
    galaxy_id: int | None = None,
    roles: Sequence[str] | None = None,
    expert_ids: Sequence[int] | None = None,
) -> dict:
    """A model version's classes against the consensus (rows), see :func:`db.agreement.model_consensus_pairs`.

    Returns
    -------
    dict
        ``model_version_id`` and the fields of :func:`starcnet_core.evaluation.agreement.compare`.
    """
    with use_case(session):
        version_id, consensus, predicted = model_consensus_pairs(
            session,
            model_version_id=model_version_id,
            galaxy_id=galaxy_id,
            roles=roles,
            expert_ids=expert_ids,
        )
    return {"model_version_id": version_id, **agreement.compare(consensus, predicted)}


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
        ``galaxy``, ``model_name``, ``experts`` (see :func:`expert_agreement`)
        and ``model`` (see :func:`model_agreement`: model in columns, consensus in rows).
    """
    with use_case(session):
        galaxy_id = None if galaxy is None else galaxy_id_of(session, galaxy)
        if model is not None:
            version = version_by_name(session, model)
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
