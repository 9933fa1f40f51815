"""Checkpoints: atomic save, `latest` skipping incomplete saves, total limit, crash safety, restore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator

from mgm_hf.training.checkpointing import (
    list_checkpoints,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)


def make(seed: int = 0) -> tuple[Accelerator, torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    accelerator = Accelerator(cpu=True)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model, optimizer = accelerator.prepare(model, optimizer)
    return accelerator, model, optimizer


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    loss = model(torch.randn(8, 4)).pow(2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def test_save_then_load_restores_model_optimizer_and_rng(tmp_path: Path) -> None:
    accelerator, model, optimizer = make()
    train_step(model, optimizer)
    path = save_checkpoint(accelerator, tmp_path, 1, {"epoch": 0, "batches_in_epoch": 1})
    assert path.name == "checkpoint-1" and (path / "model.safetensors").is_file()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    train_step(model, optimizer)
    expected_next = model.state_dict()["weight"].clone()

    accelerator2, model2, optimizer2 = make(seed=99)
    state = load_checkpoint(accelerator2, resolve_checkpoint("latest", tmp_path))
    assert state["global_step"] == 1 and state["epoch"] == 0
    for key, value in model2.state_dict().items():
        assert torch.equal(value, weights[key])
    train_step(model2, optimizer2)  # the RNG and AdamW moments were restored: the same next step
    assert torch.equal(model2.state_dict()["weight"], expected_next)


def test_crash_during_save_keeps_last_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accelerator, model, optimizer = make()
    save_checkpoint(accelerator, tmp_path, 1, {"epoch": 0, "batches_in_epoch": 1})
    good = (tmp_path / "checkpoint-1" / "model.safetensors").read_bytes()
    original = Accelerator.save_state

    def crash(self, output_dir=None, **kwargs):  # writes part of the state, then dies
        original(self, output_dir, **kwargs)
        raise KeyboardInterrupt("killed mid-save")

    train_step(model, optimizer)
    monkeypatch.setattr(Accelerator, "save_state", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(accelerator, tmp_path, 2, {"epoch": 0, "batches_in_epoch": 2})
    # Also a crash while re-saving an existing step must not destroy it.
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(accelerator, tmp_path, 1, {"epoch": 0, "batches_in_epoch": 1})
    monkeypatch.undo()
    assert (tmp_path / ".tmp-checkpoint-2").is_dir()  # the debris, never taken for a checkpoint
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-1"]
    assert resolve_checkpoint("latest", tmp_path).name == "checkpoint-1"
    assert (tmp_path / "checkpoint-1" / "model.safetensors").read_bytes() == good
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        resolve_checkpoint(str(tmp_path / ".tmp-checkpoint-2"), tmp_path)
    # The next save of step 2 cleans the debris up and completes.
    save_checkpoint(accelerator, tmp_path, 2, {"epoch": 0, "batches_in_epoch": 2})
    assert not (tmp_path / ".tmp-checkpoint-2").exists()
    assert resolve_checkpoint("latest", tmp_path).name == "checkpoint-2"


def test_total_limit_keeps_newest_and_latest_orders_numerically(tmp_path: Path) -> None:
    accelerator = make()[0]
    for step in (2, 9, 10, 11):
        save_checkpoint(accelerator, tmp_path, step, {"epoch": 0, "batches_in_epoch": step}, total_limit=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-10", "checkpoint-11"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-10", "checkpoint-11"]
    # A folder without the COMPLETE marker is ignored even if its number is higher.
    (tmp_path / "checkpoint-99").mkdir()
    (tmp_path / "checkpoint-99" / "trainer_state.json").write_text(json.dumps({"global_step": 99}))
    assert resolve_checkpoint("latest", tmp_path).name == "checkpoint-11"
    assert resolve_checkpoint("latest", tmp_path / "nothing-here") is None


def test_optimizer_state_is_read_with_weights_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accelerator, model, optimizer = make()
    train_step(model, optimizer)
    save_checkpoint(accelerator, tmp_path, 1, {"epoch": 0, "batches_in_epoch": 1})
    seen: list[object] = []
    original = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("weights_only"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_checkpoint(make()[0], tmp_path / "checkpoint-1")
    assert seen and all(flag is True for flag in seen)
