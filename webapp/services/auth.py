"""Sign-in: choose or create an expert, behind an optional shared password.

Lab servers set one password for everyone in ``STARCNET_PASSWORD`` or in the
file ``$STARCNET_DATA_DIR/password`` (first line); without either, anyone
who reaches the app may sign in. The password only guards the door: labels
are attributed to the expert name chosen.

A sign-in also yields a session token (:func:`issue_session_token`): the
expert's id and name signed with the server's secret (``STARCNET_SECRET_KEY``,
else ``$STARCNET_DATA_DIR/session_secret``, made on first use) and a time
stamp, valid for :data:`SESSION_HOURS`. The browser keeps it as a cookie, so
that a reload or a bookmark finds the expert still signed in
(:func:`read_session_token`).
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from db.engine import data_dir
from db.models import Expert
from starcnet_core.errors import UserInputError
from webapp.services.labels import add_expert, get_expert

__all__ = [
    "SESSION_COOKIE",
    "SESSION_HOURS",
    "SignedIn",
    "shared_password",
    "check_password",
    "sign_in",
    "issue_session_token",
    "read_session_token",
]

#: Name of the browser cookie that holds the session token.
SESSION_COOKIE = "starcnet_session"
#: Hours a session token stays valid (``STARCNET_SESSION_HOURS``; default a long working day).
SESSION_HOURS = float(os.environ.get("STARCNET_SESSION_HOURS", "12"))


@dataclass(frozen=True)
class SignedIn:
    """The expert a browser session works as."""

    expert_id: int
    name: str
    #: identifies one sign-in (what a reload restores, e.g. skipped candidates, belongs to it)
    session_id: str = field(default="", compare=False)
    role: str = "expert"


def shared_password() -> str | None:
    """The shared password (environment first, then the data directory's file); None when open."""
    if os.environ.get("STARCNET_PASSWORD"):
        return os.environ["STARCNET_PASSWORD"]
    path = data_dir() / "password"
    if path.is_file():
        first = path.read_text().splitlines()
        return first[0] if first and first[0] else None
    return None


def check_password(given: str) -> bool:
    """Whether ``given`` opens the app (always True without a shared password)."""
    expected = shared_password()
    # compare_digest: the time taken does not tell how much of a guess was right
    return expected is None or hmac.compare_digest(given.encode(), expected.encode())


def sign_in(session: Session, name: str, *, password: str = "", create: bool = False) -> SignedIn:
    """Sign in as expert ``name`` (created first when ``create``); a wrong password is a :class:`UserInputError`."""
    if not check_password(password):
        raise UserInputError("wrong password")
    if create:
        return SignedIn(add_expert(session, name), name.strip(), secrets.token_hex(8))
    expert = get_expert(session, name)
    return SignedIn(expert.id, expert.name, secrets.token_hex(8), expert.role)


def _serializer() -> URLSafeTimedSerializer:
    key = os.environ.get("STARCNET_SECRET_KEY")
    if not key:
        path = data_dir() / "session_secret"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two servers starting at once agree on the first key written
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_hex(32))
        key = path.read_text().strip()
    return URLSafeTimedSerializer(key, salt="starcnet-session")


def issue_session_token(signed: SignedIn) -> str:
    """A signed, time-stamped token of a sign-in, for the browser's cookie."""
    return _serializer().dumps({"id": signed.expert_id, "name": signed.name, "sid": signed.session_id})


def read_session_token(session: Session, token: str | None) -> SignedIn | None:
    """The sign-in a token carries; None when it is missing, forged, expired or its expert is gone."""
    if not token:
        return None
    try:
        payload = _serializer().loads(token, max_age=SESSION_HOURS * 3600)
        expert = session.get(Expert, int(payload["id"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if expert is None or expert.name != payload.get("name"):
        return None
    return SignedIn(expert.id, expert.name, str(payload.get("sid", "")), expert.role)
