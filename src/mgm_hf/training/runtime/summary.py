"""The closing lines of every example script: where its outputs went and what to run next."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from mgm_hf.data.builtin_motion import BuiltinMotionSpec

# Data options a follow-up command needs to read the same data (the built-in sizes only when changed).
_BUILTIN_DEFAULTS = {
    "builtin_train_per_class": BuiltinMotionSpec.train_per_class,
    "builtin_validation_per_class": BuiltinMotionSpec.validation_per_class,
    "builtin_num_frames": BuiltinMotionSpec.num_frames,
    "builtin_size": BuiltinMotionSpec.size,
}


def data_arguments(args: argparse.Namespace) -> list[str]:
    """The command-line options that select this run's data (``--dataset_name``/``--dataset_root``,
    or the built-in dataset's sizes where they differ from the defaults)."""
    out: list[str] = []
    for key in ("dataset_name", "dataset_root"):
        if getattr(args, key, None) is not None:
            out += [f"--{key}", str(getattr(args, key))]
    if getattr(args, "dataset_name", None) in (None, "builtin"):
        for key, default in _BUILTIN_DEFAULTS.items():
            value = getattr(args, key, default)
            if value != default:
                out += [f"--{key}", str(value)]
    return out


def sibling_folder(output_dir: str | Path, suffix: str) -> str:
    """``outputs/pretrain`` + ``finetune`` -> ``outputs/pretrain_finetune``: a distinct folder for
    the next step's outputs."""
    path = Path(output_dir)
    return str(path.with_name(f"{path.name}_{suffix}"))


def command(script: str, *arguments: str) -> str:
    """``accelerate launch examples/<script> <arguments>``, shell-quoted."""
    return shlex.join(["accelerate", "launch", f"examples/{script}", *arguments])


def outputs_report(title: str, output_dir: str | Path, files: dict[str, str], next_steps: list[str]) -> str:
    """The closing text: ``title``, the folder, each of ``files`` (name -> what it is) that exists
    there, then the ``next_steps`` commands."""
    folder = Path(output_dir)
    lines = [f"{title}. Outputs in {folder}:"]
    lines += [f"  {name:<26} {what}" for name, what in files.items() if (folder / name).exists()]
    if next_steps:
        lines.append("Next:")
        lines += [f"  {step}" for step in next_steps]
    return "\n".join(lines)


__all__ = ["command", "data_arguments", "outputs_report", "sibling_folder"]
