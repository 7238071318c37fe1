"""Sign-in: choose or create an expert, behind an optional shared password.

Lab servers set one password for everyone in ``STARCNET_PASSWORD`` or in the
file ``$STARCNET_DATA_DIR/password`` (first line); without either, anyone
who reaches the app may sign in. The password only guards the door: labels
are attributed to the expert name chosen.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from sqlalchemy.orm import Session

from db.engine import data_dir
from starcnet_core.errors import UserInputError
from webapp.services.labels import add_expert, get_expert

__all__ = ["SignedIn", "shared_password", "check_password", "sign_in"]


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


def sign_in(session: Session, name: str, *, password: str = "", create: bool = False) -> SignedIn:
    """Sign in as expert ``name`` (created first when ``create``); a wrong password is a :class:`UserInputError`."""
    if not check_password(password):
        raise UserInputError("wrong password")
    if create:
        return SignedIn(add_expert(session, name), name.strip())
    expert = get_expert(session, name)
    return SignedIn(expert.id, expert.name)
