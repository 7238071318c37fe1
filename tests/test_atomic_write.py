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


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names the synced files through /proc")
def test_prediction_outputs_are_synced_before_they_are_published(tmp_path, monkeypatch):
    from astropy.table import Table

    from starcnet_core.io.prediction_files import write_stampset_outputs

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def replace(source, target):
        events.append(("replace", os.path.basename(target)))
        real_replace(source, target)

    monkeypatch.setattr(atomic_write.os, "fsync", fsync)
    monkeypatch.setattr(atomic_write.os, "replace", replace)
    out = tmp_path / "out"
    paths = write_stampset_outputs(out, Table({"galaxy": ["g"], "id": [1], "pred_class": [2]}))
    assert [p.name for p in paths] == ["scores.csv"] and (out / "scores.csv").read_text().startswith("galaxy")
    # the file is on disk before it replaces the target, the folder entry after
    assert events == [("fsync", "scores.csv"), ("replace", "scores.csv"), ("fsync", "out")]
    assert [p.name for p in out.iterdir()] == ["scores.csv"]  # no staging folder left
