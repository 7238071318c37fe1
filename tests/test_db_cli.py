"""The admin CLI for the label database: exit 0 on success, 2 and one line on user errors."""

from __future__ import annotations

import json

import pytest
from db_testing import add_galaxy
from sqlalchemy import func, select, update

from db.engine import make_engine, session_factory
from db.models import Candidate, Label
from webapp.cli import main


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def _labels(url):
    with session_factory(make_engine(url))() as session:
        return session.scalar(select(func.count()).select_from(Label))


def test_commands_need_an_initialised_database(database, capsys):
    assert main(["expert", "list"]) == 2
    assert "run `python -m webapp init-db`" in capsys.readouterr().err


def test_label_workflow(database, tmp_path, capsys):
    assert main(["init-db"]) == 0
    assert main(["init-db"]) == 0  # idempotent
    with session_factory(make_engine(database))() as session:
        add_galaxy(session, "ngc1", n=3)
        session.commit()
    assert main(["expert", "add", "ana"]) == 0
    assert main(["expert", "add", "ben"]) == 0
    assert main(["label", "--expert", "ana", "--galaxy", "ngc1", "--id", "1", "--class", "2"]) == 0
    assert main(["label", "--expert", "ana", "--galaxy", "ngc1", "--id", "1", "--class", "3"]) == 0
    assert main(["label", "--expert", "ana", "--galaxy", "ngc1", "--id", "1", "--undo"]) == 0
    capsys.readouterr()
    for bad, message in [
        (["--expert", "zoe", "--galaxy", "ngc1", "--id", "1", "--class", "2"], "unknown expert 'zoe'"),
        (["--expert", "ana", "--galaxy", "ngc1", "--id", "9", "--class", "2"], "no candidate with id 9"),
        (["--expert", "ana", "--galaxy", "ngc1", "--id", "1"], "either --class or --undo"),
    ]:
        assert main(["label", *bad]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    csv = tmp_path / "ben.csv"
    csv.write_text("galaxy,id,class\nngc1,1,2\nngc1,2,4\n")
    assert main(["import-labels", str(csv), "--expert", "ben"]) == 0
    assert main(["import-labels", str(csv), "--expert", "ben"]) == 2
    assert _labels(database) == 5
    capsys.readouterr()
    assert main(["agreement", "--galaxy", "ngc1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["experts"]["pairwise"][0]["agreement"] == 1.0 and report["model"] is None
    assert main(["agreement", "--galaxy", "ngc1"]) == 0
    assert "ana vs ben: 100.0%" in capsys.readouterr().out
    assert main(["expert", "list"]) == 0
    assert "ana\texpert\t2 labels" in capsys.readouterr().out


def test_backup_is_a_working_database_and_never_overwrites(database, tmp_path, capsys):
    assert main(["init-db"]) == 0
    with session_factory(make_engine(database))() as session:
        add_galaxy(session, "ngc1", n=2)
        session.commit()
    assert main(["expert", "add", "ana"]) == 0
    assert main(["label", "--expert", "ana", "--galaxy", "ngc1", "--id", "2", "--class", "3"]) == 0
    out = tmp_path / "copy.sqlite"
    assert main(["backup", str(out)]) == 0
    copy = f"sqlite:///{out}"
    assert _labels(copy) == 1
    assert main(["agreement", "--galaxy", "ngc1", "--json", "--database-url", copy]) == 0
    capsys.readouterr()
    assert main(["backup", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*.partial"))


def test_check_finds_and_repairs_a_wrong_stored_consensus(database, tmp_path, capsys):
    assert main(["init-db"]) == 0
    with session_factory(make_engine(database))() as session:
        add_galaxy(session, "ngc1", n=3)
        session.commit()
    assert main(["expert", "add", "ana"]) == 0
    assert main(["label", "--expert", "ana", "--galaxy", "ngc1", "--id", "2", "--class", "3"]) == 0
    capsys.readouterr()
    assert main(["check"]) == 0
    assert "3 candidates checked, 0 mismatches" in capsys.readouterr().out
    with make_engine(database).begin() as connection:
        connection.execute(update(Candidate).where(Candidate.source_id == 2).values(n_votes=5))
        connection.execute(update(Candidate).where(Candidate.source_id == 3).values(consensus_class=1))
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "ngc1 #2 (candidate 2): stored 5 votes / class 3, the labels give 1 votes / class 3" in out
    assert "ngc1 #3 (candidate 3): stored 0 votes / class 1, the labels give 0 votes / class None" in out
    assert "3 candidates checked, 2 mismatches" in out
    assert main(["check", "--repair"]) == 0
    assert "2 mismatches repaired" in capsys.readouterr().out
    assert main(["check"]) == 0


def test_an_expert_becomes_admin_and_back(database, capsys):
    assert main(["init-db"]) == 0
    assert main(["expert", "add", "ana"]) == 0
    assert main(["expert", "role", "ana", "--role", "admin"]) == 0
    assert main(["expert", "list"]) == 0
    assert "ana\tadmin\t0 labels" in capsys.readouterr().out
    assert main(["expert", "role", "ana"]) == 0
    assert main(["expert", "role", "zoe", "--role", "admin"]) == 2
    assert main(["expert", "role"]) == 2
    assert "`expert role` needs a NAME" in capsys.readouterr().err
    assert main(["expert", "list"]) == 0
    assert "ana\texpert\t0 labels" in capsys.readouterr().out
