"""Sign-in: choose or create an expert, behind an optional shared password.

Lab servers set one password for everyone in ``STARCNET_PASSWORD`` or in the
file ``$STARCNET_DATA_DIR/password`` (first line); without either, anyone
who reaches the app may sign in. The password only guards the door: labels
are attributed to the expert name chosen.

Wrong passwords are rate-limited per client address (:class:`SignInLimiter`):
after :data:`MAX_FAILURES` in a row, attempts from that address are refused
without looking at the password, for a lock-out that doubles with each
further failure, so guessing costs hours instead of seconds.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from db.engine import data_dir
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
]

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
        return SignedIn(add_expert(session, name), name.strip())
    expert = get_expert(session, name)
    return SignedIn(expert.id, expert.name)
