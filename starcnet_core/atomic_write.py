"""Atomic file writes: a reader never sees a half-written output file.

Every output of the project that other processes may read while it is being
written (checkpoints, feature caches, overlays, region and table files,
database backups) goes through :func:`atomic_path`: the content is written to
a staging file in the target's directory, flushed to disk with ``fsync``,
then renamed over the target in one ``os.replace`` and the directory entry
itself is synced, so that after a crash the target is either the old file or
the complete new one. On any error the staging file is removed and the
target is untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "write_text_atomic"]


def _fsync(path: Path, flags: int = os.O_RDONLY) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A staging path to write instead of ``path``; it replaces ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or pathlib.Path
        The target; its directory must exist.

    Yields
    ------
    pathlib.Path
        An empty file beside ``path`` with the same suffix (so that writers
        choosing the format by suffix, as ``numpy.savez`` or ``savefig``, do
        the right thing). Write it completely inside the ``with`` block.
    """
    path = Path(path)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(descriptor)
    staging = Path(name)
    try:
        yield staging
        _fsync(staging)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    if os.name == "posix":
        _fsync(path.parent, os.O_RDONLY | os.O_DIRECTORY)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8, line ends as given) all at once or not at all."""
    with atomic_path(path) as staging:
        staging.write_text(text, encoding="utf-8", newline="")
