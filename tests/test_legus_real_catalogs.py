"""The ten real LEGUS catalogs of ../shared/data/legus/catalogs (no readmes) through ``inspect`` and ``import``.

What each column holds is known from ../shared/data/README.md; the counts
below are checked against the raw columns read here with ``numpy.loadtxt``.
Skipped when ../shared is absent.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import func, select

from db.engine import make_engine, session_factory
from db.models import Candidate, Expert, Galaxy, Label
from starcnet_core.cli import main as core_main
from tests.conftest import SHARED_DATA
from webapp.cli import main as webapp_main

CATALOGS = SHARED_DATA / "legus" / "catalogs"

# field -> (columns, 1-based RA column, the class-mode column taken as "LEGUS mode" or the listed choices)
FIELDS = {
    "ngc4485": (34, 4, 34),
    "ngc3274": (35, 4, 34),
    "ngc3344": (35, 4, 34),
    "ic559": (36, 4, 34),
    "ngc5253": (36, 4, 34),
    "ugc695": (36, 4, 34),
    "ngc3351": (37, 4, [35, 36, 37]),
    "ngc1313-w": (37, 6, 36),
    "ngc4449": (38, 4, [34, 36, 37]),
    "ngc45": (37, 4, [35, 37]),
}
# From ../shared/data/README.md and the raw file: NGC 4485's class column.
NGC4485_MODE = {"0": 4747, "1": 137, "2": 161, "3": 79, "4": 486}


def _path(field: str):
    matches = sorted(CATALOGS.glob(f"hlsp_legus_hst_*_{field}_multiband_*.tab"))
    assert len(matches) == 1, matches
    return matches[0]


def _counts(column: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(column.astype(int), return_counts=True)
    return {str(v): int(n) for v, n in zip(values, counts, strict=True)}


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    if not CATALOGS.is_dir():
        pytest.skip("../shared/data/legus/catalogs is not present")
    url = f"sqlite:///{tmp_path_factory.mktemp('real') / 'app.sqlite'}"
    assert webapp_main(["init-db", "--database-url", url]) == 0
    return url


@pytest.mark.shared_data
@pytest.mark.parametrize("field", list(FIELDS))
def test_real_catalog_inspect_and_import(field, database, capsys):
    ncols, ra_column, classes = FIELDS[field]
    path = _path(field)
    raw = np.loadtxt(path)
    assert raw.shape[1] == ncols

    assert core_main(["inspect", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["candidates"] == len(raw)
    assert summary["layout"].startswith(f"legus-{ncols}")
    ra, dec = raw[:, ra_column - 1], raw[:, ra_column]
    assert summary["ranges"]["ra"]["min"] == pytest.approx(ra.min())
    assert summary["ranges"]["dec"]["max"] == pytest.approx(dec.max())
    if isinstance(classes, list):
        assert summary["labels"] == {}
        choices = summary["label_choices"]
        assert [c["column"] for c in choices] == classes
        for choice in choices:
            assert choice["counts"] == _counts(raw[:, choice["column"] - 1])
    else:
        assert summary["label_choices"] == []
        mode = raw[:, classes - 1]
        expected = {str(c): int(np.count_nonzero(mode == c)) for c in range(1, 5)}
        assert {c: n for c, n in summary["labels"]["LEGUS mode"].items() if c != "0"} == expected
        if field == "ngc4485":
            assert summary["labels"]["LEGUS mode"] == NGC4485_MODE

    assert webapp_main(["import", str(path), "--database-url", database]) == 0
    out = capsys.readouterr().out
    assert f"{len(raw)} candidates" in out
    with session_factory(make_engine(database))() as session:
        galaxy = session.scalars(select(Galaxy).where(Galaxy.name == field)).one()
        rows = session.execute(
            select(Candidate.source_id, Candidate.ra, Candidate.dec)
            .where(Candidate.galaxy_id == galaxy.id)
            .order_by(Candidate.source_id)
        ).all()
        labels = dict(
            session.execute(
                select(Expert.name, func.count(Label.id))
                .join(Label, Label.expert_id == Expert.id)
                .join(Candidate, Candidate.id == Label.candidate_id)
                .where(Candidate.galaxy_id == galaxy.id)
                .group_by(Expert.name)
            ).all()
        )
    assert len(rows) == len(raw)
    stored = np.array([(r.ra, r.dec) for r in rows])
    # Every position within the field's RA/Dec footprint, and the catalog's own RA/Dec.
    assert np.all((stored[:, 0] >= ra.min()) & (stored[:, 0] <= ra.max()))
    assert np.all((stored[:, 1] >= dec.min()) & (stored[:, 1] <= dec.max()))
    np.testing.assert_allclose(stored, np.column_stack([ra, dec])[np.argsort(raw[:, 0])])
    if isinstance(classes, list):
        assert labels == {}
        assert "no catalog labels imported" in out and f"column {classes[0]} (" in out
        assert (
            webapp_main(
                ["catalog-labels", field, "--label-column", str(classes[0]), "--database-url", database]
            )
            == 0
        )
        column = raw[:, classes[0] - 1]
        assert f"{int(np.count_nonzero((column >= 1) & (column <= 4)))} labels" in capsys.readouterr().out
    else:
        assert labels == {"LEGUS mode": int(np.count_nonzero((mode >= 1) & (mode <= 4)))}
