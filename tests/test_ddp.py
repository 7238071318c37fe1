"""Training under DDP: two gloo processes on the CPU train one shared model."""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import types

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from stamp_testing import TINY, tiny_stampset

from starcnet_core.training.train import TrainConfig, train_model

CONFIG = TrainConfig(epochs=1, batch_size=16, lr=1e-3)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        steps = []
        result = train_model(tiny_stampset(), CONFIG, TINY, progress=steps.append)
        torch.save(
            {"state": result.model.state_dict(), "total_steps": steps[-1]["total_steps"]},
            f"{out}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_train_one_model(tmp_path, monkeypatch):
    # spawned processes re-import the parent's __main__; after an AppTest earlier in the same
    # pytest process that is a Streamlit page script, which must not run outside Streamlit
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for key, value in ranks[0]["state"].items():
        assert torch.equal(value, ranks[1]["state"][key]), key  # gradients were averaged
    # each process took half of every batch of 16: the same number of steps as one process
    single = []
    result = train_model(tiny_stampset(), dataclasses.replace(CONFIG), TINY, progress=single.append)
    assert ranks[0]["total_steps"] == single[-1]["total_steps"]
    assert not torch.equal(result.model.head.weight, ranks[0]["state"]["head.weight"])
