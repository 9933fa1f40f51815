"""Crash-safe training checkpoints on top of ``Accelerator.save_state``/``load_state``.

Layout: ``<output_dir>/checkpoint-<step>/`` holds Accelerate's state (model as safetensors,
optimizer, scheduler, per-process RNG states) plus ``trainer_state.json`` (step, epoch, seed and
anything the script adds) and the marker file ``COMPLETE``, written last.

A checkpoint is first written to ``<output_dir>/.tmp-checkpoint-<step>/`` and renamed only once it is
complete, so a crash during a save leaves at worst a ``.tmp-*`` folder behind and never touches the
last good checkpoint; ``latest`` only considers complete checkpoints. A save that fails with an
error (a full disk above all: torch's writer then says only ``basic_ios::clear: iostream error`` or
``unexpected pos``) removes its partial folder, so the debris does not stay on the full disk, and
raises :class:`CheckpointSaveError` saying where the disk is full and which checkpoint is the last
good one. Every load goes through
Accelerate, which reads weights from safetensors and everything else with
``torch.load(weights_only=True)``; our own state is JSON.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from accelerate import Accelerator

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
COMPLETE_MARKER = "COMPLETE"
STATE_FILE = "trainer_state.json"
_NAME_RE = re.compile(rf"^{CHECKPOINT_PREFIX}(\d+)$")
# What writers say when the disk fills up: the OS (errno 28), safetensors (Rust's StorageFull).
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_DISK_FULL_TEXT = ("No space left on device", "StorageFull", "Disk quota exceeded")
# Torch's zip writer reports a full disk only as a broken stream ("basic_ios::clear: iostream error",
# "unexpected pos"); with so little free space left on the filesystem, that is what happened.
_NEARLY_FULL_BYTES = 16 * 2**20


class CheckpointSaveError(OSError):
    """Saving a checkpoint failed (``disk_full`` when the disk holding it is full); the partial folder
    was removed and the earlier checkpoints are untouched."""

    def __init__(self, message: str, disk_full: bool) -> None:
        super().__init__(message)
        self.disk_full = disk_full


def is_complete(path: str | Path) -> bool:
    """True when ``path`` is a checkpoint folder whose save finished."""
    path = Path(path)
    return (path / COMPLETE_MARKER).is_file() and (path / STATE_FILE).is_file()


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints in ``output_dir``, oldest (lowest step) first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = []
    for child in output_dir.iterdir():
        match = _NAME_RE.match(child.name)
        if match and child.is_dir() and is_complete(child):
            found.append((int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def resolve_checkpoint(resume_from: str, output_dir: str | Path) -> Path | None:
    """``"latest"`` -> the newest complete checkpoint in ``output_dir`` (None if there is none);
    a path -> that path, which must be a complete checkpoint."""
    if resume_from == "latest":
        checkpoints = list_checkpoints(output_dir)
        return checkpoints[-1] if checkpoints else None
    path = Path(resume_from)
    if not is_complete(path):
        raise FileNotFoundError(
            f"{path} is not a complete checkpoint (no {COMPLETE_MARKER}/{STATE_FILE}); pass another "
            "checkpoint or `latest`."
        )
    return path


def save_checkpoint(
    accelerator: Accelerator,
    output_dir: str | Path,
    step: int,
    state: dict[str, Any],
    total_limit: int | None = None,
) -> Path:
    """Saves the full training state atomically as ``checkpoint-<step>``; every process must call it.

    ``state`` (JSON-serialisable: epoch, step in epoch, seed, ...) goes to ``trainer_state.json``.
    With ``total_limit`` only the newest ``total_limit`` complete checkpoints are kept.
    """
    output_dir = Path(output_dir)
    final = output_dir / f"{CHECKPOINT_PREFIX}{step}"
    tmp = output_dir / f".tmp-{CHECKPOINT_PREFIX}{step}"
    try:
        if accelerator.is_main_process:
            if tmp.exists():
                shutil.rmtree(tmp)  # leftover of an earlier crashed save of the same step
            tmp.mkdir(parents=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp), safe_serialization=True)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            _write_json(tmp / STATE_FILE, {"global_step": step, **state})
            (tmp / COMPLETE_MARKER).write_text("ok\n")
            _fsync_dir(tmp)
    except Exception as err:  # not KeyboardInterrupt: a killed run leaves its .tmp-* for the next save
        raise _save_failed(err, tmp, output_dir) from err
    if accelerator.is_main_process:
        if final.exists():  # re-saving a step: move the old one aside first, drop it after the swap
            old = output_dir / f".old-{CHECKPOINT_PREFIX}{step}"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_dir(output_dir)
        if total_limit is not None:
            prune_checkpoints(output_dir, total_limit)
    accelerator.wait_for_everyone()
    return final


def _save_failed(err: Exception, tmp: Path, output_dir: Path) -> CheckpointSaveError:
    """Removes the partial ``tmp`` folder and builds the error: is the disk full, where, how much a
    checkpoint takes, which checkpoint is the last good one."""
    written = _folder_bytes(tmp)
    usage = shutil.disk_usage(output_dir) if output_dir.is_dir() else None
    shutil.rmtree(tmp, ignore_errors=True)
    good = list_checkpoints(output_dir)
    needed = max(written, _folder_bytes(good[-1]) if good else 0)
    texts = [str(e) for e in _chain(err)]
    disk_full = (
        any(getattr(e, "errno", None) in _DISK_FULL_ERRNOS for e in _chain(err))
        or any(marker in text for text in texts for marker in _DISK_FULL_TEXT)
        or (usage is not None and usage.free < max(needed, _NEARLY_FULL_BYTES))
    )
    last = f"the last good checkpoint, {good[-1]}, is intact" if good else "there is no earlier checkpoint"
    cause = f"{type(err).__name__}: {err}"
    if disk_full:
        space = f" ({_mib(usage.free)} free of {_mib(usage.total)})" if usage is not None else ""
        message = (
            f"No space left on the disk holding {output_dir}{space}: {tmp.name} could not be written (a checkpoint "
            f"here takes about {_mib(needed)}). Removed the partial folder; {last}. Free some space or point "
            "--output_dir at a larger disk (--checkpoints_total_limit N keeps only the newest N), then resume "
            f"with --resume_from_checkpoint latest. ({cause})"
        )
    else:
        message = f"Saving {tmp.name} in {output_dir} failed: {cause}. Removed the partial folder; {last}."
    logger.error(message)
    return CheckpointSaveError(message, disk_full=disk_full)


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and the exceptions it was raised from or during."""
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def load_checkpoint(accelerator: Accelerator, path: str | Path) -> dict[str, Any]:
    """Restores model, optimizer, scheduler and RNG states from ``path``; returns its trainer state."""
    path = Path(path)
    if not is_complete(path):
        raise FileNotFoundError(f"{path} is not a complete checkpoint.")
    accelerator.load_state(str(path))
    return json.loads((path / STATE_FILE).read_text())


def prune_checkpoints(output_dir: str | Path, total_limit: int) -> list[Path]:
    """Deletes all but the newest ``total_limit`` complete checkpoints; returns what was deleted."""
    if total_limit < 1:
        raise ValueError(f"checkpoints_total_limit must be >= 1, got {total_limit}.")
    checkpoints = list_checkpoints(output_dir)
    doomed = checkpoints[: max(len(checkpoints) - total_limit, 0)]
    for path in doomed:
        # Rename first so a crash mid-delete never leaves a half-deleted folder that looks complete.
        trash = path.with_name(f".del-{path.name}")
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)
    return doomed


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = [
    "CHECKPOINT_PREFIX",
    "COMPLETE_MARKER",
    "STATE_FILE",
    "CheckpointSaveError",
    "is_complete",
    "list_checkpoints",
    "load_checkpoint",
    "prune_checkpoints",
    "resolve_checkpoint",
    "save_checkpoint",
]
