"""The one atomic-write helper: complete file or untouched target, synced, no staging file left."""

from __future__ import annotations

import os

import numpy as np
import pytest

from starcnet_core import atomic_write
from starcnet_core.atomic_write import atomic_path, write_text_atomic


def test_success_replaces_target_with_synced_file(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(atomic_write.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    target = tmp_path / "table.npz"
    target.write_text("old")
    with atomic_path(target) as staging:
        assert staging.parent == tmp_path and staging.suffix == ".npz"
        np.savez(staging, a=np.arange(3))
    assert np.load(target)["a"].tolist() == [0, 1, 2]
    assert len(synced) == 2  # the file, then its directory
    assert [p.name for p in tmp_path.iterdir()] == ["table.npz"]


def test_failure_keeps_target_and_removes_staging(tmp_path):
    target = tmp_path / "regions.reg"
    write_text_atomic(target, "old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as staging:
        staging.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["regions.reg"]
