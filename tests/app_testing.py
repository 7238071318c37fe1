"""A tiny prepared database for the review-app tests and benchmark: one galaxy with mosaics, a model, experts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from db.models import Candidate
from tests.db_testing import add_experts, add_model, migrated_engine
from tests.legus_testing import write_galaxy
from webapp.services.database import open_database
from webapp.services.galaxies import import_galaxy
from webapp.services.labels import record_label

#: Candidates of the tiny galaxy (1-based x, y; all at least 24 px from an edge) and their catalog classes.
POSITIONS = [(30.5, 30.5), (60.5, 30.5), (90.5, 30.5), (30.5, 70.5), (60.5, 70.5), (90.5, 70.5)]
CATALOG_CLASSES = [1, 2, 3, 4, 1, 2]


def prepared_database(tmp_path: Path, *, n_extra: int = 0) -> str:
    """Build the database in ``tmp_path``; return its URL.

    Galaxy ``ngc9999`` (96 x 120 px mosaics of random sky, six candidates plus
    ``n_extra`` more in a wider field), a catalog pseudo-expert's labels, an
    active model ``m1`` whose confidence falls with the candidate id (its
    scores recorded as computed in int8 on OpenVINO), and the experts ``ann``
    and ``bob`` (bob labelled candidate 2 as class 2).
    """
    engine = migrated_engine(tmp_path)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    positions = list(POSITIONS)
    classes = list(CATALOG_CLASSES)
    rng = np.random.default_rng(0)
    shape = (96, 120)
    if n_extra:
        shape = (1000, 1000)
        positions += [tuple(p) for p in rng.uniform(40, 960, (n_extra, 2))]
        classes += list(rng.integers(1, 5, n_extra))
    x, y = (np.array(c) for c in zip(*positions, strict=True))
    write_galaxy(tmp_path / "ngc9999", x, y, classes, shape=shape)
    database = open_database(url)
    with database.sessions() as session:
        import_galaxy(session, tmp_path / "ngc9999", distance_mpc=9.9)
        ids = session.scalars(select(Candidate.id).order_by(Candidate.source_id)).all()
        scores = {}
        for rank, cid in enumerate(ids):
            top = 0.95 - 0.5 * rank / max(1, len(ids) - 1)
            p = np.full(4, (1 - top) / 3)
            p[rank % 4] = top
            scores[cid] = p.tolist()
        add_model(session, "m1", scores, precision="int8", engine="openvino")
        add_experts(session, "ann", "bob")
        session.commit()
        bob = session.scalar(select(Candidate.id).where(Candidate.source_id == 2))
        from webapp.services.labels import get_expert

        record_label(session, candidate_id=bob, expert_id=get_expert(session, "bob").id, label_class=2)
    database.engine.dispose()
    return url
