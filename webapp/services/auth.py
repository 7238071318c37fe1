"""Sign-in: choose or create an expert, behind an optional shared password.

Lab servers set one password for everyone in ``STARCNET_PASSWORD`` or in the
file ``$STARCNET_DATA_DIR/password`` (first line); without either, anyone
who reaches the app may sign in. The password only guards the door: labels
are attributed to the expert name chosen.

Wrong passwords are rate-limited per client address (:class:`SignInLimiter`):
after :data:`MAX_FAILURES` in a row, attempts from that address are refused
without looking at the password, for a lock-out that doubles with each
further failure, so guessing costs hours instead of seconds.

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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from db.engine import data_dir, use_case
from db.models import Expert
from starcnet_core.errors import UserInputError
from webapp.services.labels import add_expert, get_expert

__all__ = [
    "MAX_FAILURES",
    "SignedIn",
    "SignInLimiter",
    "SIGN_IN_LIMITER",
    "shared_password",
    "check_password",
    "open_door",
    "sign_in",
    "SESSION_COOKIE",
    "SESSION_HOURS",
    "issue_session_token",
    "read_session_token",
]

#: Name of the browser cookie that holds the session token.
SESSION_COOKIE = "starcnet_session"
#: Hours a session token stays valid (``STARCNET_SESSION_HOURS``; default a long working day).
SESSION_HOURS = float(os.environ.get("STARCNET_SESSION_HOURS", "12"))

#: Wrong passwords in a row from one client before its attempts are refused for a while.
MAX_FAILURES = 5
#: The first lock-out (seconds); each further failure doubles it, up to :data:`MAX_LOCKOUT_S`.
LOCKOUT_S = 30.0
MAX_LOCKOUT_S = 3600.0


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


class SignInLimiter:
    """Counts wrong passwords per client and refuses clients that failed too often, for a while.

    Parameters
    ----------
    max_failures : int
        Failures in a row allowed before the first lock-out.
    lockout_s, max_lockout_s : float
        First lock-out and its ceiling (seconds); it doubles with each failure after that.
    clock : callable
        Seconds, monotonic (tests pass a fake one).
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        lockout_s: float = LOCKOUT_S,
        max_lockout_s: float = MAX_LOCKOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.lockout_s, self.max_lockout_s, self.clock = (
            max_failures,
            lockout_s,
            max_lockout_s,
            clock,
        )
        self._failures: dict[str, tuple[int, float]] = {}
        # Streamlit serves every browser session from threads of one process.
        self._lock = threading.Lock()

    def attempt(self, client: str, password: str) -> bool:
        """Check ``password`` for ``client``; a locked-out client is a :class:`UserInputError`."""
        with self._lock:
            count, locked_until = self._failures.get(client, (0, 0.0))
            wait = locked_until - self.clock()
            if wait > 0:
                raise UserInputError(f"too many wrong passwords: try again in {wait:.0f} s")
            if check_password(password):
                self._failures.pop(client, None)
                return True
            count += 1
            if count >= self.max_failures:
                lockout = self.lockout_s * 2.0 ** (count - self.max_failures)
                locked_until = self.clock() + min(lockout, self.max_lockout_s)
            self._failures[client] = (count, locked_until)
            return False


#: The limiter of this server process.
SIGN_IN_LIMITER = SignInLimiter()


def open_door(password: str, *, client: str = "", limiter: SignInLimiter | None = None) -> None:
    """Check the shared password for ``client``; wrong or rate-limited is a :class:`UserInputError`."""
    if not (limiter or SIGN_IN_LIMITER).attempt(client, password):
        raise UserInputError("wrong password")


def sign_in(
    session: Session,
    name: str,
    *,
    password: str = "",
    create: bool = False,
    client: str = "",
    limiter: SignInLimiter | None = None,
) -> SignedIn:
    """Sign in as expert ``name`` (created first when ``create``).

    A wrong password, or a client (address) locked out after too many wrong
    ones, is a :class:`UserInputError`.
    """
    open_door(password, client=client, limiter=limiter)
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
        with use_case(session):
            expert = session.get(Expert, int(payload["id"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if expert is None or expert.name != payload.get("name"):
        return None
    return SignedIn(expert.id, expert.name, str(payload.get("sid", "")), expert.role)
