"""Accelerator set-up shared by the scripts: CPU detection, trackers, per-rank logs, the final save."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration

from .trackers import resolve_report_to

logger = logging.getLogger(__name__)


def build_accelerator(args: argparse.Namespace) -> Accelerator:
    """An ``Accelerator`` for ``args`` (``cpu``, ``mixed_precision``, ``gradient_accumulation_steps``,
    ``report_to``, ``output_dir``). A ``report_to`` tracker that is not installed raises (see
    :mod:`mgm_hf.training.runtime.trackers`).

    Without CUDA it passes ``cpu=True``: only then does ``accelerate launch --multi_gpu
    --num_processes 2`` on a CPU machine make one gloo process group; otherwise
    two unconnected copies would train silently.
    """
    cpu = bool(getattr(args, "cpu", False)) or not torch.cuda.is_available()
    log_with = resolve_report_to(getattr(args, "report_to", "none"))  # a missing tracker is an error
    accelerator = Accelerator(
        cpu=cpu,
        mixed_precision=getattr(args, "mixed_precision", None),
        gradient_accumulation_steps=getattr(args, "gradient_accumulation_steps", 1),
        log_with=log_with,
        project_config=ProjectConfiguration(project_dir=args.output_dir, logging_dir=str(Path(args.output_dir) / "logs")),
        dataloader_config=DataLoaderConfiguration(even_batches=True),
    )
    if accelerator.num_processes > 1 and accelerator.state.distributed_type.value == "NO":
        raise RuntimeError("Several processes but no process group: launch with `accelerate launch --multi_gpu`.")
    return accelerator


def parameter_checksum(model: torch.nn.Module) -> str:
    """A hash of every parameter's bytes: equal on every rank of a data-parallel job."""
    digest = hashlib.sha256()
    for _, param in sorted(model.named_parameters()):
        digest.update(param.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def append_rank_log(accelerator: Accelerator, output_dir: str, record: dict[str, Any]) -> None:
    """Appends one JSON line to ``<output_dir>/rank_logs/rank-<i>.jsonl`` (every process)."""
    folder = Path(output_dir) / "rank_logs"
    folder.mkdir(parents=True, exist_ok=True)
    record = {"rank": accelerator.process_index, "world_size": accelerator.num_processes, **record}
    with open(folder / f"rank-{accelerator.process_index}.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")


def append_train_log(output_dir: str, record: dict[str, Any]) -> None:
    """Appends one JSON line (floats at full precision) to ``<output_dir>/train_log.jsonl``."""
    with open(Path(output_dir) / "train_log.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")


__all__ = ["append_rank_log", "append_train_log", "build_accelerator", "parameter_checksum", "save_final_model"]


def save_final_model(accelerator: Accelerator, model: torch.nn.Module, output_dir: str) -> torch.nn.Module:
    """Waits for every rank, gathers the weights (a collective: FSDP / ZeRO-3 shards) and saves them as
    safetensors with ``save_pretrained`` on the main process. Returns the unwrapped model."""
    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    state_dict = accelerator.get_state_dict(model)
    if accelerator.is_main_process:
        unwrapped.save_pretrained(output_dir, state_dict=state_dict, safe_serialization=True)
    return unwrapped

