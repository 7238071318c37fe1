"""Security for a lab server: plain-text names, sign-in rate limits, server directories for admins under the data roots."""

from __future__ import annotations

import pytest
from db_testing import add_experts, migrated_engine

from db.engine import session_factory
from starcnet_core.errors import UserInputError
from webapp.components.text import plain
from webapp.services.auth import SignInLimiter, open_door
from webapp.services.uploads import data_roots, import_server_directory, server_directory


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_plain_escapes_every_markup_character():
    name = "[x](https://h/p)![p](http://h/p.png) **b** `c` $x$ <img src=x> :red[y]\n# h"
    text = plain(name)
    assert "\n" not in text
    # every markup character is preceded by a backslash, and nothing else changed
    assert text.replace("\\", "") == " ".join(name.split())
    for char in "[]()!*`$<>:#":
        assert all(text[i - 1] == "\\" for i, c in enumerate(text) if c == char)


def test_wrong_passwords_lock_the_client_out_for_doubling_times(monkeypatch):
    monkeypatch.setenv("STARCNET_PASSWORD", "orion")
    clock = Clock()
    limiter = SignInLimiter(max_failures=3, lockout_s=10, max_lockout_s=25, clock=clock)
    for _ in range(3):
        assert not limiter.attempt("10.0.0.9", "guess")
    with pytest.raises(UserInputError, match="too many wrong passwords: try again in 10 s"):
        open_door("orion", client="10.0.0.9", limiter=limiter)  # right, but locked out
    open_door("orion", client="10.0.0.7", limiter=limiter)  # another address is not
    clock.now += 10
    assert not limiter.attempt("10.0.0.9", "guess")  # the 4th failure: 20 s
    clock.now += 19
    with pytest.raises(UserInputError, match="try again in 1 s"):
        open_door("orion", client="10.0.0.9", limiter=limiter)
    clock.now += 1
    assert not limiter.attempt("10.0.0.9", "guess")  # 5th: 40 s, capped at 25
    clock.now += 25
    open_door("orion", client="10.0.0.9", limiter=limiter)  # a success starts the count again
    assert not limiter.attempt("10.0.0.9", "guess")
    assert limiter.attempt("10.0.0.9", "orion")


def test_without_a_password_anyone_may_sign_in(monkeypatch, tmp_path):
    monkeypatch.delenv("STARCNET_PASSWORD", raising=False)
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path))
    limiter = SignInLimiter(max_failures=1)
    for _ in range(3):
        open_door("", limiter=limiter)


def test_server_directories_stay_under_the_data_roots(monkeypatch, tmp_path):
    monkeypatch.delenv("STARCNET_DATA_ROOTS", raising=False)
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    assert data_roots() == [(tmp_path / "data").resolve()]
    (tmp_path / "data" / "ngc1").mkdir(parents=True)
    (tmp_path / "survey" / "ngc2").mkdir(parents=True)
    (tmp_path / "data" / "etc").symlink_to("/etc")
    assert server_directory("ngc1") == (tmp_path / "data" / "ngc1").resolve()
    for outside in ("/etc", "ngc1/../../survey/ngc2", "etc", str(tmp_path / "survey" / "ngc2"), " "):
        with pytest.raises(UserInputError):
            server_directory(outside)
    monkeypatch.setenv("STARCNET_DATA_ROOTS", f"{tmp_path / 'data'}:{tmp_path / 'survey'}")
    assert server_directory(tmp_path / "survey" / "ngc2") == (tmp_path / "survey" / "ngc2").resolve()
    with pytest.raises(UserInputError, match="not under the data roots"):
        server_directory("/etc")


def test_only_admins_import_server_directories(monkeypatch, tmp_path):
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STARCNET_DATA_ROOTS", raising=False)
    (tmp_path / "empty").mkdir()
    session = session_factory(migrated_engine(tmp_path))()
    expert, admin = add_experts(session, "ana", "root")
    admin.role = "admin"
    session.commit()
    with pytest.raises(UserInputError, match="only an admin"):
        import_server_directory(session, "empty", expert_id=expert.id)
    with pytest.raises(UserInputError, match="not under the data roots"):
        import_server_directory(session, "/etc", expert_id=admin.id)
    with pytest.raises(UserInputError, match="empty"):  # an admin's directory is read
        import_server_directory(session, "empty", expert_id=admin.id)
    session.close()
