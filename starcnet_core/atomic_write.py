"""Atomic file writes: a reader never sees a half-written output file.

Every output of the project that other processes may read while it is being
written (checkpoints, feature caches, overlays, region and table files,
database backups) goes through :func:`atomic_path`: the content is written to
a staging file in the target's directory, flushed to disk with ``fsync``,
then renamed over the target in one ``os.replace`` and the directory entry
itself is synced, so that after a crash the target is either the old file or
the complete new one. On any error the staging file is removed and the
target is untouched. Outputs made of several files (a prediction run's
tables, regions and overlay) are written into a staging folder and moved
into place together by :func:`publish_files`, with the same syncing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "publish_files", "write_text_atomic"]


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
    _fsync_directory(path.parent)


def _fsync_directory(path: Path) -> None:
    if os.name == "posix":  # a directory cannot be opened for syncing on Windows
        _fsync(path, os.O_RDONLY | os.O_DIRECTORY)


def publish_files(staging: str | Path, out_dir: str | Path) -> list[Path]:
    """Move every file of the folder ``staging`` into ``out_dir``, each complete on disk first.

    Each staged file is flushed with ``fsync`` before it replaces its target
    (``os.replace``, so a target is the old file or the complete new one),
    and ``out_dir`` is synced once at the end so that the renames survive a
    crash. ``staging`` must be on the same file system as ``out_dir`` (e.g. a
    folder inside it). Returns the targets, in name order.
    """
    staging, out_dir = Path(staging), Path(out_dir)
    sources = sorted(staging.iterdir())
    for source in sources:
        _fsync(source)
    moved = []
    for source in sources:
        target = out_dir / source.name
        os.replace(source, target)
        moved.append(target)
    _fsync_directory(out_dir)
    return moved


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8, line ends as given) all at once or not at all."""
    with atomic_path(path) as staging:
        staging.write_text(text, encoding="utf-8", newline="")
