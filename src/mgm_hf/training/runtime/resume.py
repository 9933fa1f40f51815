"""Resuming a training run so that its records stay true.

* :func:`find_checkpoint`: ``--resume_from_checkpoint latest`` into a folder without a complete
  checkpoint warns and starts fresh; a named folder must be a complete checkpoint.
* :func:`run_settings`: what defines a run (the model config with its masking strategy, the
  schedule, every argument that changes what is computed). It is stored in each checkpoint.
* :func:`resume_run`: refuses to continue a checkpoint whose settings differ from this run's (the
  error lists each difference, checkpoint vs this run), then restores the training state and cuts the
  run records (``train_log.jsonl``, per-rank logs, pictures) back to the checkpoint's step, so a
  resumed run logs every step once.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from accelerate import Accelerator

from .checkpointing import STATE_FILE, load_checkpoint, resolve_checkpoint

logger = logging.getLogger(__name__)

# Arguments that only change how a run is executed, logged or saved, never what it computes: they may
# differ between a run and its resumption. Every other argument must match.
MAY_CHANGE_ON_RESUME = frozenset({
    "output_dir", "resume_from_checkpoint", "overwrite_output_dir", "num_workers", "logging_steps",
    "checkpointing_steps", "checkpoints_total_limit", "report_to", "picture_steps", "push_to_hub",
    "hub_model_id", "hub_private", "hub_card_template", "rank_log", "gradient_checkpointing", "cpu",
    "max_failure_rate", "validation_split",
})
# Config entries that describe the saving library, not the model.
_CONFIG_BOOKKEEPING = frozenset({"transformers_version", "architectures"})


class ResumeMismatchError(ValueError):
    """The checkpoint was written by a run with other settings than this one."""


def find_checkpoint(resume_from: str | None, output_dir: str | Path) -> Path | None:
    """The checkpoint to resume from, or None (start fresh). ``latest`` without a complete
    checkpoint in ``output_dir`` logs a WARNING; a named folder that is not a complete checkpoint
    raises (see :func:`~mgm_hf.training.runtime.checkpointing.resolve_checkpoint`)."""
    if not resume_from:
        return None
    path = resolve_checkpoint(resume_from, output_dir)
    if path is None:
        logger.warning("--resume_from_checkpoint latest: no complete checkpoint in %s, so this run starts "
                       "from step 0.", output_dir)
    return path


def run_settings(args: argparse.Namespace, config: Any, **schedule: Any) -> dict[str, Any]:
    """``{"arguments", "model", "schedule"}`` as plain JSON: every argument outside
    :data:`MAY_CHANGE_ON_RESUME`, the model config (masking strategy included) and the resolved
    schedule (``schedule``: total batch size, steps, warmup, lr, ...)."""
    arguments = {k: v for k, v in vars(args).items() if k not in MAY_CHANGE_ON_RESUME}
    model = {k: v for k, v in config.to_dict().items() if k not in _CONFIG_BOOKKEEPING and not k.startswith("_")}
    return json.loads(json.dumps({"arguments": arguments, "model": model, "schedule": schedule},
                                 sort_keys=True, default=str))


def settings_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One line per setting that differs, ``"model.masking.mask_ratio: checkpoint 0.9, this run 0.75"``,
    sorted by name (nested dicts compared entry by entry)."""
    old, new = _flatten(saved), _flatten(current)
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key, _ABSENT) != new.get(key, _ABSENT):
            lines.append(f"{key}: checkpoint {_show(old.get(key, _ABSENT))}, this run {_show(new.get(key, _ABSENT))}")
    return lines


def read_trainer_state(checkpoint: str | Path) -> dict[str, Any]:
    """The ``trainer_state.json`` of a checkpoint (step, epoch, settings, run records)."""
    return json.loads((Path(checkpoint) / STATE_FILE).read_text())


def check_resume_settings(checkpoint: str | Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Raises :class:`ResumeMismatchError` listing every difference between the checkpoint's
    settings and ``settings``; returns the checkpoint's trainer state."""
    state = read_trainer_state(checkpoint)
    saved = state.get("settings")
    if saved is None:
        logger.warning("%s does not record its run's settings (written by an older mgm_hf): cannot check that "
                       "this run continues it with the same model, masking and schedule.", checkpoint)
        return state
    differences = settings_differences(saved, settings)
    if differences:
        listed = "\n  ".join(differences)
        raise ResumeMismatchError(
            f"Cannot resume from {checkpoint}: this run's settings differ from the ones it was trained with "
            f"(a resumed run must continue the same model, masking and schedule, or its saved config "
            f"would describe only the last part):\n  {listed}\n"
            "Resume with the checkpoint's settings, or start a new run in another --output_dir."
        )
    return state


def resume_run(accelerator: Accelerator, checkpoint: str | Path, settings: dict[str, Any],
               output_dir: str | Path) -> dict[str, Any]:
    """Checks the settings (:func:`check_resume_settings`), restores model, optimizer, scheduler and
    RNG states, cuts the run records in ``output_dir`` back to the checkpoint's step (main process)
    and returns the checkpoint's trainer state."""
    check_resume_settings(checkpoint, settings)
    state = load_checkpoint(accelerator, checkpoint)
    if accelerator.is_main_process:
        dropped = truncate_run_records(output_dir, int(state["global_step"]))
        if dropped:
            logger.info("Dropped %d record(s) logged after step %d by the interrupted run.", dropped,
                        state["global_step"])
    accelerator.wait_for_everyone()
    return state


def truncate_run_records(output_dir: str | Path, step: int) -> int:
    """Removes what an interrupted run recorded after ``step``: lines of ``train_log.jsonl`` and
    ``rank_logs/*.jsonl`` with a larger ``step``, and ``pictures/step-<N>.png`` with N > ``step``.
    Returns the number of records removed."""
    folder = Path(output_dir)
    removed = 0
    for log in [folder / "train_log.jsonl", *sorted((folder / "rank_logs").glob("*.jsonl"))]:
        if not log.is_file():
            continue
        lines = log.read_text().splitlines()
        kept = [line for line in lines if line.strip() and json.loads(line).get("step", 0) <= step]
        if len(kept) != len(lines):
            removed += len(lines) - len(kept)
            log.write_text("".join(line + "\n" for line in kept))
    for picture in (folder / "pictures").glob("step-*.png"):
        if int(picture.stem.split("-", 1)[1]) > step:
            picture.unlink()
            removed += 1
    return removed


_ABSENT = object()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def _show(value: Any) -> str:
    return "(not set)" if value is _ABSENT else json.dumps(value)


__all__ = [
    "MAY_CHANGE_ON_RESUME",
    "ResumeMismatchError",
    "check_resume_settings",
    "find_checkpoint",
    "read_trainer_state",
    "resume_run",
    "run_settings",
    "settings_differences",
    "truncate_run_records",
]
