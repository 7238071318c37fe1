"""Importing galaxies, published predictions and exports through the core's LEGUS readers.

Tiny LEGUS-like files are written here: five 64x64 mosaics named as in the
LEGUS release and a 35-column catalog (class mode in column 34, mean in 35).
The real-data test imports NGC 1566 (no mosaics) with its 3-human column as
a pseudo-expert and the published StarcNet output, and checks the agreement
against a count made directly from the two files.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from db_testing import add_galaxy, add_model, migrated_engine
from sqlalchemy import func, select

from db.engine import session_factory
from db.models import Candidate, Expert, Galaxy, Label, ModelVersion, Prediction
from starcnet_core.errors import UserInputError
from webapp.cli import main
from webapp.services.agreement import agreement_report
from webapp.services.export import export_galaxy, galaxy_table
from webapp.services.galaxies import NO_MOSAICS, get_galaxy, import_galaxy, list_galaxies
from webapp.services.metrics import scored_candidates
from webapp.services.predictions import import_predictions

FILTERS = ("f275w", "f336w", "f438w", "f555w", "f814w")
# id, x, y (1-based), class mode: two near the edge of the 64x64 mosaics.
SOURCES = [(1, 32.0, 32.0, 1), (2, 20.5, 40.0, 2), (3, 44.0, 25.0, 4), (4, 3.0, 30.0, 3), (5, 40.0, 62.0, 0)]


def _catalog_rows() -> np.ndarray:
    rows = np.zeros((len(SOURCES), 35))
    for i, (sid, x, y, cls) in enumerate(SOURCES):
        rows[i, :5] = [sid, x, y, 10.0 + 1e-4 * x, -20.0 + 1e-4 * y]
        rows[i, 5:15] = [22.0 + i, 0.1] * 5
        rows[i, 15] = 1.5  # CI
        rows[i, 32] = 5  # Nflt
        rows[i, 33] = cls
        rows[i, 34] = cls
    return rows


def write_galaxy(directory, field="tiny"):
    directory.mkdir()
    rng = np.random.default_rng(0)
    for filt in FILTERS:
        data = rng.normal(0.1, 0.01, (64, 64)).astype(np.float32)
        fits.PrimaryHDU(data).writeto(directory / f"hlsp_legus_hst_wfc3_{field}_{filt}_v1_drc.fits")
    catalog = directory / f"hlsp_legus_hst_wfc3_{field}_multiband_v1_padagb-mwext-avgapcor.tab"
    np.savetxt(catalog, _catalog_rows(), fmt="%.5f")
    return catalog


@pytest.fixture
def session(tmp_path):
    engine = migrated_engine(tmp_path)
    with session_factory(engine)() as session:
        yield session


def test_import_directory_with_mosaics(session, tmp_path, monkeypatch):
    write_galaxy(tmp_path / "tiny")
    monkeypatch.setattr("webapp.services.galaxies._CUTOUT_CHUNK", 2)  # cut in several chunks
    summary = import_galaxy(session, tmp_path / "tiny", distance_mpc=9.9)
    assert (summary.name, summary.n_candidates, summary.n_labelled) == ("tiny", 5, 4)
    assert summary.has_mosaics and summary.n_usable == 3
    reasons = dict(session.execute(select(Candidate.source_id, Candidate.unusable_reason)).all())
    assert reasons[1] == "" and reasons[4] == "edge" and reasons[5] == "edge"
    legus = session.scalars(select(Expert).where(Expert.role == "catalog")).one()
    assert legus.name == "LEGUS mode"
    galaxy = session.scalars(select(Galaxy)).one()
    assert set(galaxy.mosaic_paths) == {"NUV", "U", "B", "V", "I"} and galaxy.filters["B"] == "F438W"
    c2 = session.scalars(select(Candidate).where(Candidate.source_id == 2)).one()
    assert c2.consensus_class == 2 and c2.mag_nuv == pytest.approx(23.0) and c2.properties["nflt"] == 5
    assert [g.name for g in list_galaxies(session)] == ["tiny"]


def test_simulated_galaxy_imports_uninspected_candidates_without_labels(session, tmp_path):
    from starcnet_core.io.galaxy import read_galaxy
    from starcnet_core.sim import simulate_galaxy

    # At 6 Mpc many candidates are fainter than M_V = -6, so both kinds are there.
    directory = simulate_galaxy(
        tmp_path / "sim", size=128, n_candidates=24, distance_mpc=6.0, seed=2, field="simg"
    )
    mode = np.asarray(read_galaxy(directory).catalog.labels["LEGUS mode"])
    summary = import_galaxy(session, directory, distance_mpc=6.0)
    # Candidates LEGUS would not inspect (Nflt < 4 or M_V > -6) are class 0: no label, no consensus.
    n_labelled = int(np.sum(mode > 0))
    assert 0 < n_labelled < len(mode) and (summary.n_candidates, summary.n_labelled) == (
        len(mode),
        n_labelled,
    )
    rows = session.execute(select(Candidate.n_votes, Candidate.consensus_class, Candidate.properties)).all()
    assert (
        sum(1 for votes, consensus, _ in rows if votes == 0 and consensus is None) == len(mode) - n_labelled
    )
    assert session.scalar(select(func.count()).select_from(Label)) == n_labelled
    # The SED-fit columns reach the candidates, as the metrics page reads them.
    fitted = [p for _, _, p in rows if p["nflt"] >= 4]
    assert len(fitted) >= 0.5 * len(mode) and all(p["age"] >= 1e6 and p["mass"] > 0 for p in fitted)
    # ... and the metrics page, per class: a fitted E(B-V) of 0 is a value, an unfitted one is not.
    candidates = session.scalars(select(Candidate).order_by(Candidate.source_id)).all()
    candidates[0].properties = {**candidates[0].properties, "age": 2e6, "ebv": 0.0}
    candidates[1].properties = {**candidates[1].properties, "age": 0.0, "mass": 0.0, "ebv": 0.0}
    add_model(session, "m", {c.id: [0.7, 0.1, 0.1, 0.1] for c in candidates})
    data = scored_candidates(session)
    props = [c.properties for c in candidates]
    ebv = [p["ebv"] if p["age"] > 0 else np.nan for p in props]
    np.testing.assert_array_equal(np.sort(data["ebv"]), np.sort(ebv))
    assert np.sum(data["ebv"] == 0.0) >= 1
    mass = [p["mass"] if p["mass"] > 0 else np.nan for p in props]
    np.testing.assert_array_equal(np.sort(data["mass"]), np.sort(mass))
    assert np.isfinite(data["mass"][data["consensus"] > 0]).sum() >= n_labelled - 2


def test_duplicate_import_is_refused_without_a_write(session, tmp_path):
    write_galaxy(tmp_path / "tiny")
    import_galaxy(session, tmp_path / "tiny")
    with pytest.raises(UserInputError, match="already imported"):
        import_galaxy(session, tmp_path / "tiny")
    with pytest.raises(UserInputError, match="already imported as galaxy 'tiny'"):
        import_galaxy(session, tmp_path / "tiny", name="other")
    assert session.scalar(select(func.count()).select_from(Candidate)) == 5
    assert session.scalar(select(func.count()).select_from(Galaxy)) == 1


def test_a_copy_of_an_imported_field_in_another_folder_is_refused_without_a_write(session, tmp_path):
    write_galaxy(tmp_path / "tiny")
    import_galaxy(session, tmp_path / "tiny")
    shutil.copytree(tmp_path / "tiny", tmp_path / "copy")
    with pytest.raises(UserInputError, match="galaxy 'tiny' already holds these candidates"):
        import_galaxy(session, tmp_path / "copy", name="other")
    # the same ids elsewhere on the image are another field
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "tiny", moved)
    catalog = next(moved.glob("*.tab"))
    rows = np.loadtxt(catalog)
    rows[:, 1] += 3.0
    np.savetxt(catalog, rows, fmt="%.5f")
    import_galaxy(session, moved, name="moved")
    assert session.scalar(select(func.count()).select_from(Galaxy)) == 2


def test_catalog_without_mosaics_and_predictions(session, tmp_path):
    catalog = write_galaxy(tmp_path / "tiny")
    summary = import_galaxy(session, catalog, name="solo")
    assert summary.n_usable == 0 and not summary.has_mosaics
    assert set(session.scalars(select(Candidate.unusable_reason))) == {NO_MOSAICS}
    tab = tmp_path / "pred.tab"
    tab.write_text(
        "1\t32\t32\t1\t[0.70 - 0.10 - 0.10 - 0.10]\r\n2\t20\t40\t1\t[0.45 - 0.45 - 0.05 - 0.05]\r\n"
        "3\t44\t25\t3\t[0.10 - 0.10 - 0.60 - 0.20]\r\n"
    )
    result = import_predictions(session, tab, galaxy="solo", model="published")
    assert result.created_model and result.status == "active" and result.n_predictions == 3
    # The file's class is kept even where the rounded scores tie.
    assert (
        session.scalar(select(Prediction.predicted_class).join(Candidate).where(Candidate.source_id == 2))
        == 1
    )
    with pytest.raises(UserInputError, match="already has predictions"):
        import_predictions(session, tab, galaxy="solo", model="published")
    bad = tmp_path / "bad.tab"
    bad.write_text(
        "1\t32\t32\t1\t[0.70 - 0.10 - 0.10 - 0.10]\r\n99\t1\t1\t1\t[0.70 - 0.10 - 0.10 - 0.10]\r\n"
    )
    with pytest.raises(UserInputError, match="not candidates of 'solo'"):
        import_predictions(session, bad, galaxy="solo", model="another")
    assert session.scalar(select(func.count()).select_from(Prediction)) == 3
    model = agreement_report(session, galaxy="solo")["model"]
    assert model["n"] == 3 and model["agreement"] == pytest.approx(1 / 3)  # 1-1 right, 2-1 and 4-3 wrong


@pytest.mark.parametrize("fmt", ["csv", "ecsv", "fits", "starcnet-tab", "ds9"])
def test_exports(session, tmp_path, fmt):
    catalog = write_galaxy(tmp_path / "tiny")
    import_galaxy(session, catalog, name="solo")
    tab = tmp_path / "pred.tab"
    tab.write_text(
        "1\t32\t32\t1\t[0.70 - 0.10 - 0.10 - 0.10]\r\n3\t44\t25\t3\t[0.10 - 0.10 - 0.60 - 0.20]\r\n"
    )
    import_predictions(session, tab, galaxy="solo", model="published")
    table = galaxy_table(session, "solo")
    assert list(table["consensus"]) == [1, 2, 4, 3, 0] and list(table["pred_class"]) == [1, 0, 3, 0, 0]
    out = export_galaxy(session, "solo", fmt, tmp_path / f"solo.{fmt}")
    assert out.is_file() and out.stat().st_size > 0
    if fmt in ("ecsv", "fits"):
        back = Table.read(out)
        assert list(back["id"]) == [1, 2, 3, 4, 5] and list(back["votes_2"]) == [0, 1, 0, 0, 0]


def test_exports_say_what_computed_each_prediction(session, tmp_path):
    from db.predictions import store_predictions
    from starcnet_core.scores import score_summaries

    import_galaxy(session, write_galaxy(tmp_path / "tiny"), name="solo")
    tab = tmp_path / "pred.tab"
    tab.write_text("1\t32\t32\t1\t[0.70 - 0.10 - 0.10 - 0.10]\r\n")
    import_predictions(session, tab, galaxy="solo", model="published")
    # the published file does not say what computed it
    assert list(galaxy_table(session, "solo", model="published")["precision"]) == [""] * 5
    ids = session.scalars(select(Candidate.id).order_by(Candidate.source_id)).all()
    scores = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    version = ModelVersion(name="scored", status="proposed")
    session.add(version)
    session.flush()
    store_predictions(
        session,
        version.id,
        [ids[0], ids[2]],
        scores,
        score_summaries(scores),
        precision=["int8", "fp32"],  # the second a near-tie that fp32 scored
        engine=["openvino", "torch"],
    )
    table = galaxy_table(session, "solo", model="scored")
    assert list(table["precision"]) == ["int8", "", "fp32", "", ""]
    assert list(table["engine"]) == ["openvino", "", "torch", "", ""]
    out = export_galaxy(session, "solo", "ecsv", tmp_path / "solo.ecsv", model="scored")
    assert list(Table.read(out)["precision"].filled("")) == ["int8", "", "fp32", "", ""]
    csv_rows = (
        export_galaxy(session, "solo", "csv", tmp_path / "solo.csv", model="scored").read_text().splitlines()
    )
    assert csv_rows[0].endswith(",precision,engine") and csv_rows[1].endswith(",int8,openvino")
    with pytest.raises(ValueError, match="one value per score row"):
        store_predictions(
            session, version.id, [ids[1]], scores[:1], score_summaries(scores[:1]), precision=["int8", "fp32"]
        )


@pytest.mark.shared_data
def test_ngc1566_model_vs_three_humans(session, shared_data):
    catalog = shared_data / "legus/ngc1566/hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"
    published = shared_data / "starcnet_published/ngc1566.tab"
    summary = import_galaxy(
        session, catalog, distance_mpc=17.9, label_column=36, label_source="LEGUS 3-human mode"
    )
    assert summary.name == "ngc1566" and summary.n_candidates == 2752 and summary.n_usable == 0
    import_predictions(session, published, galaxy="ngc1566", model="starcnet-published")
    # By hand from the two files: column 36 (1-based) against column 4 of the published output.
    humans = np.loadtxt(catalog, usecols=(0, 35)).astype(int)
    predicted = {
        int(line.split("\t")[0]): int(line.split("\t")[3]) for line in published.read_text().splitlines()
    }
    pairs = np.array([(h, predicted[i]) for i, h in humans if h in (1, 2, 3, 4)])
    expected = np.mean(pairs[:, 0] == pairs[:, 1])
    assert len(pairs) == 1061 and expected == pytest.approx(0.648, abs=5e-4)
    model = agreement_report(session, galaxy="ngc1566")["model"]
    assert model["n"] == 1061
    assert model["agreement"] == pytest.approx(expected)
    assert model["binary_agreement"] == pytest.approx(np.mean((pairs[:, 0] <= 2) == (pairs[:, 1] <= 2)))
    assert session.scalar(select(func.count()).select_from(Label)) == 1061


def test_cli_import_score_export(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    write_galaxy(tmp_path / "tiny")
    assert main(["init-db"]) == 0
    assert main(["import", str(tmp_path / "tiny"), "--distance", "9.9"]) == 0
    assert (
        "galaxy 'tiny': 5 candidates, 3 usable for cutouts, 4 with catalog labels" in capsys.readouterr().out
    )
    assert main(["import", str(tmp_path / "tiny")]) == 2
    assert "already imported" in capsys.readouterr().err
    tab = tmp_path / "pred.tab"
    tab.write_text("1\t32\t32\t2\t[0.20 - 0.70 - 0.05 - 0.05]\n")
    assert main(["import-predictions", str(tab), "--galaxy", "tiny", "--model", "pub"]) == 0
    assert main(["import-predictions", str(tab), "--galaxy", "nope", "--model", "pub"]) == 2
    out = tmp_path / "tiny.ecsv"
    assert main(["export", "--galaxy", "tiny", "--format", "ecsv", "--out", str(out)]) == 0
    table = Table.read(out)
    assert list(table["consensus"]) == [1, 2, 4, 3, 0] and table["p2"][0] == pytest.approx(0.7)
    assert (
        main(["export", "--galaxy", "tiny", "--format", "starcnet-tab", "--out", str(tmp_path / "t.tab")])
        == 0
    )
    assert (tmp_path / "t.tab").read_text().startswith("1\t")


def test_gzipped_uploads_import_and_score_from_the_cache(session, tmp_path, monkeypatch):
    import gzip

    from starcnet_core.io.mosaics import open_mosaics
    from webapp.services.uploads import Upload, import_uploads

    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("starcnet_core.io.mosaics.IN_MEMORY_BYTES", 0)  # every mosaic through the cache
    catalog = write_galaxy(tmp_path / "tiny")
    uploads = [Upload(catalog.name, catalog.read_bytes())]
    for path in sorted(catalog.parent.glob("*.fits")):
        uploads.append(Upload(path.name + ".gz", gzip.compress(path.read_bytes())))
    with pytest.raises(UserInputError, match="not a gzip-compressed file"):
        import_uploads(
            session, [*uploads[:-1], Upload(uploads[-1].name, b"plain bytes")], root=tmp_path / "u"
        )
    summary = import_uploads(session, uploads, root=tmp_path / "u")
    assert summary.has_mosaics and summary.n_usable == 3
    galaxy = session.scalars(select(Galaxy)).one()
    assert all(path.endswith(".fits.gz") for path in galaxy.mosaic_paths.values())
    # What the app and scoring open: the stored .fits.gz, read from the cache.
    reopened = open_mosaics(list(galaxy.mosaic_paths.values()))
    original = fits.getdata(sorted(catalog.parent.glob("*f555w*.fits"))[0])
    np.testing.assert_array_equal(reopened.bands["V"].data, original)
    assert len(list((tmp_path / "data" / "cache" / "mosaics").glob("*.fits"))) == 5


def test_directory_without_mosaics_and_labels_chosen_later(session, tmp_path):
    from webapp.services.galaxies import import_catalog_labels
    from webapp.services.uploads import (
        Upload,
        directory_label_choices,
        import_directory,
        upload_label_choices,
    )

    catalog = write_galaxy(tmp_path / "tiny")
    for path in catalog.parent.glob("*.fits"):
        path.unlink()
    rows = _catalog_rows()[:, :33]
    # Two class columns, nothing saying which is the human mode.
    np.savetxt(catalog, np.column_stack([rows, [1, 2, 3, 4, 0], [4, 4, 3, 0, 1]]), fmt="%.5f")
    choices = directory_label_choices(catalog.parent)
    assert [(c.column, c.counts) for c in choices] == [
        (34, {"0": 1, "1": 1, "2": 1, "3": 1, "4": 1}),
        (35, {"0": 1, "1": 1, "3": 1, "4": 2}),
    ]
    assert (
        upload_label_choices([Upload(catalog.name, catalog.read_bytes()), Upload("a.fits", b"")]) == choices
    )
    summary = import_directory(session, catalog.parent)
    assert (summary.n_candidates, summary.n_usable, summary.n_labelled) == (5, 0, 0)
    assert summary.label_choices == choices
    assert set(session.scalars(select(Candidate.unusable_reason))) == {NO_MOSAICS}
    assert import_catalog_labels(session, "tiny", "35") == ("catalog column 35", 4)
    assert get_galaxy(session, "tiny").n_labelled == 4
    with pytest.raises(UserInputError, match="already has labels from 'catalog column 35'"):
        import_catalog_labels(session, "tiny", "35")
    with pytest.raises(UserInputError, match="no label column '99'"):
        import_catalog_labels(session, "tiny", "99", label_source="x")
    with pytest.raises(UserInputError, match="unknown galaxy"):
        import_catalog_labels(session, "nope", "34")
    assert session.scalar(select(func.count()).select_from(Label)) == 4


def test_scored_candidates_keep_far_galaxies_and_give_nan_for_missing_photometry(session):
    galaxy = add_galaxy(session, "far", n=2)
    galaxy.distance_mpc = 120.0  # beyond any magnitude sentinel: a distance, not "not detected"
    candidates = session.scalars(select(Candidate).where(Candidate.galaxy_id == galaxy.id)).all()
    candidates[0].mag_u, candidates[1].mag_u = None, 21.0  # LEGUS sentinels are stored as None at import
    add_model(session, "m", {c.id: [0.7, 0.1, 0.1, 0.1] for c in candidates})
    data = scored_candidates(session)
    assert data["distance_mpc"].tolist() == [120.0, 120.0]
    assert np.isnan(data["mag_u"]).tolist() == [True, False]
