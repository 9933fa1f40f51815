"""Checkpoints: atomic save, `latest` skipping incomplete saves, total limit, crash safety, a full disk,
restore."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator

from mgm_hf.training.runtime.checkpointing import (
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


FULL_DISK_CHILD = '''
import json, os, sys
from pathlib import Path
import torch
from accelerate import Accelerator
from mgm_hf.training.runtime.checkpointing import list_checkpoints, load_checkpoint, save_checkpoint

disk = Path(sys.argv[1])
accelerator = Accelerator(cpu=True)
torch.manual_seed(0)
model = torch.nn.Linear(256, 256)  # 257 kB of weights, twice that of AdamW moments
optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
model, optimizer = accelerator.prepare(model, optimizer)

def step():
    model(torch.randn(4, 256)).pow(2).mean().backward()
    optimizer.step()
    optimizer.zero_grad()

step()
save_checkpoint(accelerator, disk, 1, {"epoch": 0, "batches_in_epoch": 1})
good = {k: v.clone() for k, v in model.state_dict().items()}
with open(disk / "other_data.bin", "wb") as f:  # something else fills the disk: 300 kB stay free
    f.write(bytes(os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize - 300_000))
step()
try:
    save_checkpoint(accelerator, disk, 2, {"epoch": 0, "batches_in_epoch": 2})
    error = None
except Exception as err:  # CheckpointSaveError
    error = err
fresh = Accelerator(cpu=True)
model2 = fresh.prepare(torch.nn.Linear(256, 256))
state = load_checkpoint(fresh, list_checkpoints(disk)[-1])
print(json.dumps({
    "error": None if error is None else f"{type(error).__name__}: {error}",
    "disk_full": getattr(error, "disk_full", None),
    "left": sorted(p.name for p in disk.iterdir()), "restored_step": state["global_step"],
    "restored": all(torch.equal(v, good[k]) for k, v in model2.state_dict().items()),
}))
'''


def test_full_disk_says_so_removes_the_partial_save_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    """A real full disk: a 2 MiB tmpfs mounted in a private user + mount namespace (``unshare -r -m``),
    filled by another file after the first checkpoint; the second save runs out of space."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a small tmpfs")
    disk = tmp_path / "small_disk"
    disk.mkdir()
    (tmp_path / "child.py").write_text(FULL_DISK_CHILD)
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", 'mount -t tmpfs -o size=2m tmpfs "$1" || exit 77; shift; exec "$@"',
         "sh", str(disk), sys.executable, str(tmp_path / "child.py"), str(disk)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(root / "src"), "OMP_NUM_THREADS": "1"},
    )
    if result.returncode == 77 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {result.stderr.strip()[-200:]}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["error"] is not None and report["disk_full"] is True
    assert report["error"].startswith(f"CheckpointSaveError: No space left on the disk holding {disk}")
    assert "Removed the partial folder" in report["error"] and "checkpoint-1" in report["error"]
    assert report["left"] == ["checkpoint-1", "other_data.bin"]  # no .tmp-checkpoint-2 on the full disk
    assert report["restored_step"] == 1 and report["restored"]
