"""Every user error of ``python -m webapp``: exit 2, one line naming the file or argument and the problem, nothing written.

Each case builds what a user could plausibly have got wrong (a file, an
argument), runs the command through :func:`webapp.cli.main` as the shell
would, and checks the exit status, that stderr is one line containing the
expected words, and that no table row and no file in the data directory
changed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from astropy.io import fits
from sqlalchemy import func, select

from db.engine import make_engine
from db.models import Base
from starcnet_core.nn.checkpoint import save_checkpoint
from starcnet_core.nn.model import StarcNet, StarcNetConfig
from tests.app_testing import prepared_database
from tests.legus_testing import write_galaxy
from webapp.cli import main

#: A network small enough to save in milliseconds, and its variants the app cannot score.
TINY = StarcNetConfig(width=8, depth=2, pool_after=1, fc_width=8, groups=2, dropout=0.0)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A prepared database (galaxy ngc9999 with mosaics, active model m1, experts ann and bob) and files."""
    tmp = tmp_path_factory.mktemp("bad_cli")
    url = prepared_database(tmp)
    files = tmp / "files"
    files.mkdir()
    torch.manual_seed(0)
    good = save_checkpoint(files / "good.pt", StarcNet(TINY), band_mean=np.zeros(5))
    payload = torch.load(good, weights_only=True)
    payload["config"]["groups"] = 3
    torch.save(payload, files / "groups3.pt")
    stamp48 = StarcNetConfig(**{**TINY.to_dict(), "stamp_size": 48, "crops": ((12, 36), (18, 30))})
    save_checkpoint(files / "stamp48.pt", StarcNet(stamp48), band_mean=np.zeros(5))
    three = StarcNetConfig(**{**TINY.to_dict(), "n_bands": 3})
    save_checkpoint(files / "bands3.pt", StarcNet(three), band_mean=np.zeros(3), bands=("B", "V", "I"))
    (files / "notes.pt").write_text("these are not weights")
    nan_v = write_galaxy(tmp / "ngc1", [30.5, 40.5], [30.5, 40.5], [1, 2], field="ngc1")
    v_mosaic = next(nan_v.glob("*f555w*.fits"))
    with fits.open(v_mosaic, mode="update") as hdul:
        hdul[0].data[:] = np.nan
    write_galaxy(tmp / "ngc2", [30.5, 40.5], [30.5, 40.5], [1, 2], field="ngc2")
    bad_x = write_galaxy(tmp / "ngc3", [30.5, 40.5], [30.5, 40.5], [1, 2], field="ngc3")
    tab = next(bad_x.glob("*.tab"))
    lines = tab.read_text().splitlines()
    lines[1] = lines[1].replace(lines[1].split()[1], "abc", 1)  # the second row: not a header
    tab.write_text("\n".join(lines) + "\n")
    return {"url": url, "tmp": tmp, "files": files}


def _csv(world: dict, name: str, text: str | bytes) -> str:
    path = world["files"] / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def _state(world: dict) -> tuple:
    """Row counts of every table, and every file under the test's folder with its size."""
    engine = make_engine(world["url"])
    with engine.connect() as connection:
        counts = {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }
    engine.dispose()
    files = {
        str(p): p.stat().st_size for p in world["tmp"].rglob("*") if p.is_file() and "sqlite" not in p.name
    }
    return counts, files


LABELS = "galaxy,id,class,seconds\n"
LONG = "x" * 200

#: (case, argv builder, words the one-line message must contain)
CASES: list[tuple[str, Callable[[dict], list[str]], str]] = [
    (
        "labels: negative seconds",
        lambda w: ["import-labels", _csv(w, "neg.csv", LABELS + "ngc9999,1,2,-5\n"), "--expert", "ann"],
        "neg.csv:2: seconds",
    ),
    (
        "labels: not UTF-8",
        lambda w: [
            "import-labels",
            _csv(w, "latin.csv", b"galaxy,id,class,comment\nngc9999,1,2,caf\xe9\n"),
            "--expert",
            "ann",
        ],
        "latin.csv: not UTF-8 text",
    ),
    (
        "labels: no such file",
        lambda w: ["import-labels", str(w["files"] / "nowhere.csv"), "--expert", "ann"],
        "nowhere.csv: no such file",
    ),
    (
        "labels: class column missing",
        lambda w: ["import-labels", _csv(w, "nocls.csv", "galaxy,id\nngc9999,1\n"), "--expert", "ann"],
        "nocls.csv: needs a header",
    ),
    (
        "labels: class 7",
        lambda w: ["import-labels", _csv(w, "cls7.csv", LABELS + "ngc9999,1,7,\n"), "--expert", "ann"],
        "cls7.csv:2: class '7'",
    ),
    (
        "labels: id not a number",
        lambda w: ["import-labels", _csv(w, "idx.csv", LABELS + "ngc9999,one,2,\n"), "--expert", "ann"],
        "idx.csv:2: id 'one' is not an integer",
    ),
    (
        "labels: unknown galaxy",
        lambda w: ["import-labels", _csv(w, "gal.csv", LABELS + "ngc0000,1,2,\n"), "--expert", "ann"],
        "gal.csv: unknown galaxy 'ngc0000'",
    ),
    (
        "labels: unknown candidate",
        lambda w: ["import-labels", _csv(w, "cand.csv", LABELS + "ngc9999,99,2,\n"), "--expert", "ann"],
        "no candidate with id 99",
    ),
    (
        "labels: unknown expert",
        lambda w: ["import-labels", _csv(w, "ok.csv", LABELS + "ngc9999,1,2,\n"), "--expert", "zed"],
        "unknown expert 'zed'",
    ),
    (
        "labels: seconds not a number",
        lambda w: ["import-labels", _csv(w, "secs.csv", LABELS + "ngc9999,1,2,soon\n"), "--expert", "ann"],
        "secs.csv:2: seconds 'soon' is not a number",
    ),
    (
        "labels: empty file",
        lambda w: ["import-labels", _csv(w, "empty.csv", ""), "--expert", "ann"],
        "empty.csv: needs a header",
    ),
    (
        "labels: a missing cell",
        lambda w: ["import-labels", _csv(w, "short.csv", LABELS + "ngc9999\n"), "--expert", "ann"],
        "short.csv:2: no id",
    ),
    (
        "models: config the network cannot build",
        lambda w: ["models", "import", str(w["files"] / "groups3.pt")],
        "groups3.pt: the network cannot be built",
    ),
    (
        "models: version name taken",
        lambda w: ["models", "import", str(w["files"] / "good.pt"), "--name", "m1"],
        "model version name 'm1' is taken",
    ),
    (
        "models: version name too long",
        lambda w: ["models", "import", str(w["files"] / "good.pt"), "--name", LONG],
        "at most 128 characters, not 200",
    ),
    ("models: promote a non-id", lambda w: ["models", "promote", "abc"], "'abc' is not a model version id"),
    ("models: promote an unknown id", lambda w: ["models", "promote", "999"], "no model version 999"),
    (
        "models: 48-px stamps",
        lambda w: ["models", "import", str(w["files"] / "stamp48.pt"), "--activate"],
        "stamp48.pt: reads 48 x 48 px stamps",
    ),
    (
        "models: three bands",
        lambda w: ["models", "import", str(w["files"] / "bands3.pt")],
        "bands3.pt: reads 3 bands",
    ),
    (
        "models: not a checkpoint",
        lambda w: ["models", "import", str(w["files"] / "notes.pt")],
        "notes.pt: not a readable checkpoint",
    ),
    (
        "models: no such file",
        lambda w: ["models", "import", str(w["files"] / "nowhere.pt")],
        "nowhere.pt: no such checkpoint",
    ),
    (
        "export: folder missing",
        lambda w: [
            "export",
            "--galaxy",
            "ngc9999",
            "--format",
            "csv",
            "--out",
            str(w["tmp"] / "no" / "x.csv"),
        ],
        "no: the output folder does not exist",
    ),
    (
        "export: unknown galaxy",
        lambda w: ["export", "--galaxy", "ngc0000", "--format", "csv", "--out", str(w["tmp"] / "x.csv")],
        "ngc0000",
    ),
    ("expert: name too long", lambda w: ["expert", "add", LONG], "at most 128 characters"),
    ("expert: blank name", lambda w: ["expert", "add", "   "], "an expert needs a name"),
    ("expert: name taken", lambda w: ["expert", "add", "ann"], "expert 'ann' already exists"),
    ("expert: control characters", lambda w: ["expert", "add", "ann\nbob"], "control characters"),
    (
        "import: no usable candidate (V all NaN)",
        lambda w: ["import", str(w["tmp"] / "ngc1")],
        "none of the 2 catalog candidates has a full stamp",
    ),
    (
        "import: negative distance",
        lambda w: ["import", str(w["tmp"] / "ngc2"), "--distance", "-5"],
        "distance -5.0 Mpc: must be > 0",
    ),
    (
        "import: no such path",
        lambda w: ["import", str(w["tmp"] / "ngc404")],
        "ngc404: no such file or directory",
    ),
    (
        "import: galaxy name too long",
        lambda w: ["import", str(w["tmp"] / "ngc2"), "--name", LONG],
        "at most 64 characters, not 200",
    ),
    (
        "import: non-numeric x column",
        lambda w: ["import", str(w["tmp"] / "ngc3")],
        "ngc3/hlsp_legus_hst_uvis_ngc3_multiband_v1_padagb-mwext-avgapcor.tab: line 2: non-numeric value 'abc'",
    ),
    ("retrain: negative epochs", lambda w: ["retrain", "--epochs", "-3"], "epochs -3: must be at least 1"),
    ("retrain: zero votes", lambda w: ["retrain", "--min-votes", "0"], "min_votes 0: must be at least 1"),
    (
        "label: unknown galaxy",
        lambda w: ["label", "--expert", "ann", "--galaxy", "ngc0000", "--id", "1", "--class", "2"],
        "no candidate with id 1",
    ),
    ("score: unknown version", lambda w: ["score", "--version", "999"], "no model version 999"),
    ("score: unknown galaxy", lambda w: ["score", "--galaxy", "ngc0000"], "no galaxy named 'ngc0000'"),
    (
        "score: unknown precision",
        lambda w: ["score", "--precision", "fp8"],
        "--precision 'fp8' is not one of",
    ),
    (
        "score: a precision for a background job",
        lambda w: ["score", "--background", "--precision", "int8"],
        "a background job scores with its worker's --precision",
    ),
    ("worker: unknown precision", lambda w: ["worker", "--once", "--precision", "int4"], "is not one of"),
    ("jobs: rerun an unknown job", lambda w: ["jobs", "rerun", "999"], "no job 999"),
    ("jobs: rerun a non-number", lambda w: ["jobs", "rerun", "abc"], "argument ID: invalid int value: 'abc'"),
    ("agreement: unknown galaxy", lambda w: ["agreement", "--galaxy", "ngc0000"], "ngc0000"),
    ("backup: folder missing", lambda w: ["backup", str(w["tmp"] / "no" / "b.sqlite")], "is not a directory"),
    ("database url: not a URL", lambda w: ["expert", "list", "--database-url", "nonsense"], "--database-url"),
]


@pytest.mark.parametrize(("argv", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    world, monkeypatch, capsys, argv, expected
) -> None:
    monkeypatch.setenv("DATABASE_URL", world["url"])
    monkeypatch.setenv("STARCNET_DATA_DIR", str(world["tmp"] / "data"))
    args = argv(world)
    before = _state(world)
    capsys.readouterr()
    try:
        status = main(args)
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert len(err.splitlines()) == 1, err
    assert expected in err, err
    assert _state(world) == before


@pytest.mark.postgres
def test_names_longer_than_their_columns_are_refused_on_postgres(tmp_path, monkeypatch, capsys) -> None:
    from tests.db_testing import postgres_database

    with postgres_database() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        assert main(["init-db"]) == 0
        good = save_checkpoint(tmp_path / "good.pt", StarcNet(TINY), band_mean=np.zeros(5))
        write_galaxy(tmp_path / "ngc2", [30.5, 40.5], [30.5, 40.5], [1, 2], field="ngc2")
        capsys.readouterr()
        for args, message in [
            (["expert", "add", LONG], "at most 128 characters"),
            (["models", "import", str(good), "--name", LONG], "at most 128 characters"),
            (["import", str(tmp_path / "ngc2"), "--name", LONG], "at most 64 characters"),
        ]:
            assert main(args) == 2
            err = capsys.readouterr().err.strip()
            assert message in err and len(err.splitlines()) == 1, err
        assert main(["expert", "list"]) == 0
        assert capsys.readouterr().out == ""
