"""The review app's services without Streamlit: candidate view, labels with settings, uploads, sign-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import select

from db.models import Candidate, Galaxy, Label
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.io.mosaics import open_mosaics
from starcnet_core.nn.model import StarcNet, StarcNetConfig
from tests.app_testing import prepared_database
from tests.legus_testing import catalog_rows, write_galaxy, write_tab
from webapp.services.auth import check_password, sign_in
from webapp.services.database import open_database
from webapp.services.labels import get_expert
from webapp.services.review import (
    build_candidate_view,
    candidate_for_source,
    class_examples,
    field_candidates,
    network_views,
    next_candidates,
    predicted_counts,
    session_progress,
    submit_label,
    undo_last_label,
)
from webapp.services.uploads import Upload, import_uploads


@pytest.fixture
def db(tmp_path: Path):
    database = open_database(prepared_database(tmp_path))
    yield database
    database.engine.dispose()


def _arrays(session) -> list[np.ndarray]:
    galaxy = session.scalars(select(Galaxy)).one()
    return open_mosaics([galaxy.mosaic_paths[b] for b in BANDS]).arrays()


def _candidate(session, source_id: int) -> int:
    return session.scalar(select(Candidate.id).where(Candidate.source_id == source_id))


def test_network_views_match_the_model() -> None:
    stamp = np.random.default_rng(1).random((5, 32, 32)).astype(np.float32)
    model = StarcNet(StarcNetConfig(width=8, depth=2, pool_after=1, fc_width=8, groups=2))
    expected = model.pathway_inputs(torch.from_numpy(stamp[None]))
    for ours, theirs in zip(network_views(stamp), expected, strict=True):
        np.testing.assert_array_equal(ours, theirs[0].numpy())


def test_blind_view_hides_scores_and_others_until_i_label(db) -> None:
    with db.sessions() as session:
        ann = get_expert(session, "ann").id
        two = _candidate(session, 2)
        arrays = _arrays(session)
        view = build_candidate_view(session, two, arrays, expert_id=ann, blind=True, context_size=48)
        assert view.scores is None and view.labels is None and view.consensus is None
        assert view.rgb.shape == (48, 48, 3) and view.bands.shape == (5, 48, 48)
        assert [v.shape for v in view.network_rgb] == [(32, 32, 3)] * 3
        assert view.photometry["m_V"] == pytest.approx(22.5) and view.photometry["CI"] == pytest.approx(1.6)
        submit_label(session, view, expert_id=ann, label_class=2, seconds_spent=3.0, blind=True)
        after = build_candidate_view(session, two, arrays, expert_id=ann, blind=True)
        assert after.my_label == "2"
        assert after.labels["bob"] == "2" and after.consensus["consensus"] == "2"
        assert after.scores is None
        open_view = build_candidate_view(session, two, arrays, expert_id=ann, blind=False, stretch="zscale")
        assert open_view.scores is not None and open_view.predicted_class == 2
        submit_label(session, open_view, expert_id=ann, label_class=1, blind=False)
        clipped = build_candidate_view(session, two, arrays, expert_id=ann, percentiles=(2.0, 50.0))
        assert clipped.percentiles == (2.0, 50.0)
        assert (clipped.rgb == 255).sum() > (view.rgb == 255).sum()  # half the pixels white or brighter
        assert (clipped.bands == 255).sum() > (view.bands == 255).sum()
        submit_label(session, clipped, expert_id=ann, label_class=1)
        with pytest.raises(UserInputError, match="lower < upper"):
            build_candidate_view(session, two, arrays, percentiles=(60.0, 40.0))
        rows = session.execute(select(Label).where(Label.expert_id == ann).order_by(Label.id)).scalars().all()
        assert rows[0].shown_scores is None and rows[0].display_settings["blind"] is True
        assert rows[0].display_settings["percentiles"] == [0.25, 99.75]
        assert rows[1].shown_scores == pytest.approx(list(open_view.scores))
        assert rows[1].display_settings == {
            "stretch": "zscale",
            "percentiles": [0.25, 99.75],
            "stamp_px": 48,
            "blind": False,
        }
        assert rows[2].display_settings["percentiles"] == [2.0, 50.0]


def test_queue_progress_and_undo(db) -> None:
    with db.sessions() as session:
        ann = get_expert(session, "ann").id
        queue = next_candidates(session, expert_id=ann)
        assert [session.get(Candidate, c).source_id for c in queue] == [6, 5, 4, 3, 2, 1]
        skipped = next_candidates(session, expert_id=ann, skipped={queue[0]}, limit=2)
        assert skipped == queue[1:3]
        assert session_progress(session, ann) == {"labelled_today": 0, "labelled_total": 0, "remaining": 6}
        view = build_candidate_view(session, queue[0], _arrays(session), expert_id=ann)
        submit_label(session, view, expert_id=ann, label_class=4)
        assert session_progress(session, ann)["remaining"] == 5
        assert queue[0] not in next_candidates(session, expert_id=ann)
        assert undo_last_label(session, ann) == queue[0]
        assert session_progress(session, ann)["remaining"] == 6
        with pytest.raises(UserInputError, match="nothing to undo"):
            undo_last_label(session, ann)


def test_mixed_queue_alternates_smallest_margin_and_random_each_candidate_once(db) -> None:
    with db.sessions() as session:
        ann = get_expert(session, "ann").id
        margin = next_candidates(session, expert_id=ann, order="smallest_margin")
        shuffled = next_candidates(session, expert_id=ann, order="random")
        assert margin != shuffled  # the fixture's shuffle is not the margin order, so the test can tell
        mixed = next_candidates(session, expert_id=ann, order="smallest_margin_and_random")
        assert sorted(mixed) == sorted(margin)
        expected: list[int] = []
        for pair in zip(margin, shuffled, strict=True):
            expected.extend(c for c in pair if c not in expected)
        assert mixed == expected and mixed != margin
        assert (
            next_candidates(session, expert_id=ann, order="smallest_margin_and_random", limit=2)
            == expected[:2]
        )
        view = build_candidate_view(session, mixed[0], _arrays(session), expert_id=ann)
        submit_label(session, view, expert_id=ann, label_class=4)
        assert mixed[0] not in next_candidates(session, expert_id=ann, order="smallest_margin_and_random")


def test_field_candidates_counts_and_examples(db) -> None:
    with db.sessions() as session:
        galaxy = session.scalars(select(Galaxy)).one()
        table = field_candidates(session, galaxy.id)
        assert table["source_id"].tolist() == [1, 2, 3, 4, 5, 6]
        assert table["predicted_class"].tolist() == [1, 2, 3, 4, 1, 2]
        assert predicted_counts(session) == {galaxy.id: [2, 2, 1, 1]}
        examples = class_examples(session, galaxy.id, _arrays(session), per_class=2)
        # catalog labels 1, 2, 3, 4, 1, 2 (candidate 2 also bob's 2)
        assert [len(examples[k]) for k in range(1, 5)] == [2, 2, 1, 1]
        # a clicked or typed catalog id -> the candidate to open in Review
        assert candidate_for_source(table, 4) == _candidate(session, 4)
        with pytest.raises(UserInputError, match="ngc9999 has no candidate 99"):
            candidate_for_source(table, 99, "ngc9999")
        table["usable"][2] = False  # source 3 at a mosaic edge
        with pytest.raises(UserInputError, match="no full stamp"):
            candidate_for_source(table, 3, "ngc9999")


def _upload_files(directory: Path) -> list[Upload]:
    return [Upload(p.name, p.read_bytes()) for p in sorted(directory.iterdir())]


def test_uploads_are_checked_before_anything_is_written(db, tmp_path: Path) -> None:
    source = write_galaxy(
        tmp_path / "src", [40.5, 50.5], [40.5, 50.5], [1, 2], field="ngc4242", shape=(90, 90)
    )
    files = _upload_files(source)
    root = tmp_path / "uploads"
    cases = {
        "path components": [Upload("../" + files[0].name, files[0].data), *files[1:]],
        "over the": files,
        "not a FITS file": [Upload(files[0].name, b"GIF89a" + files[0].data), *files[1:]],
    }
    with db.sessions() as session:
        for message, uploads in cases.items():
            limit = 1000 if message == "over the" else 10**9
            with pytest.raises(UserInputError, match=message):
                import_uploads(session, uploads, max_bytes=limit, root=root)
        assert not root.exists() or not any(root.iterdir())
        summary = import_uploads(session, files, distance_mpc=7.0, root=root)
        assert (summary.name, summary.n_candidates, summary.n_usable) == ("ngc4242", 2, 2)


def test_upload_without_usable_candidates_or_with_mismatched_mosaics(db, tmp_path: Path) -> None:
    edge = write_galaxy(tmp_path / "edge", [2.0, 3.0], [2.0, 3.0], [1, 2], field="ngc4243", shape=(90, 90))
    with db.sessions() as session:
        before = session.scalar(select(Galaxy.id).order_by(Galaxy.id.desc()))
        with pytest.raises(UserInputError, match="none of the 2 catalog candidates"):
            import_uploads(session, _upload_files(edge), root=tmp_path / "u")
        mixed = write_galaxy(tmp_path / "mixed", [40.5], [40.5], [1], field="ngc4244", shape=(90, 90))
        other = write_galaxy(tmp_path / "other", [40.5], [40.5], [1], field="ngc4244", shape=(90, 80))
        v_band = next(p for p in other.iterdir() if "f555w" in p.name)
        (mixed / v_band.name).write_bytes(v_band.read_bytes())
        with pytest.raises(UserInputError, match="different shapes") as refused:
            import_uploads(session, _upload_files(mixed), root=tmp_path / "u")
        assert str(tmp_path) not in str(refused.value)  # the server's upload folder is nobody's business
        assert session.scalar(select(Galaxy.id).order_by(Galaxy.id.desc())) == before


def test_sign_in_with_and_without_password(db, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STARCNET_PASSWORD", raising=False)
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path))
    assert check_password("")
    (tmp_path / "password").write_text("vega\n")
    assert not check_password("") and check_password("vega")
    monkeypatch.setenv("STARCNET_PASSWORD", "orion")
    with db.sessions() as session:
        with pytest.raises(UserInputError, match="wrong password"):
            sign_in(session, "ann", password="vega")
        assert sign_in(session, "ann", password="orion").name == "ann"
        created = sign_in(session, " dora ", password="orion", create=True)
        assert created.name == "dora" and sign_in(session, "dora", password="orion") == created
        with pytest.raises(UserInputError, match="unknown expert"):
            sign_in(session, "eve", password="orion")


def test_upload_with_several_catalogs_names_the_one_to_import(db, tmp_path: Path) -> None:
    source = write_galaxy(
        tmp_path / "src", [40.5, 50.5], [40.5, 50.5], [1, 2], field="ngc4245", shape=(90, 90)
    )
    write_tab(
        source / "hlsp_legus_hst_uvis_ngc4245_multiband_v1_padagb-mwext-avgapcor_reclassified.tab",
        catalog_rows([45.5], [45.5], [3]),
    )
    files, root = _upload_files(source), tmp_path / "uploads"
    with db.sessions() as session:
        with pytest.raises(
            UserInputError,
            match="hlsp_legus_hst_uvis_ngc4245_multiband_v1_padagb-mwext-avgapcor_reclassified.tab",
        ):
            import_uploads(session, files, root=root)
        for catalog, message in [("../x.tab", "path components"), ("missing.tab", "no catalog file")]:
            with pytest.raises(UserInputError, match=message):
                import_uploads(session, files, catalog=catalog, root=root)
        with pytest.raises(UserInputError, match="frame must be one of"):
            import_uploads(
                session,
                files,
                catalog="hlsp_legus_hst_uvis_ngc4245_multiband_v1_padagb-mwext-avgapcor_reclassified.tab",
                frame="sideways",
                root=root,
            )
        assert not any(root.iterdir())
        summary = import_uploads(
            session,
            files,
            catalog="hlsp_legus_hst_uvis_ngc4245_multiband_v1_padagb-mwext-avgapcor_reclassified.tab",
            name="ngc4245b",
            root=root,
        )
        assert (summary.name, summary.n_candidates, summary.n_usable) == ("ngc4245b", 1, 1)
