"""The step arithmetic of a training run and where it starts: one helper for pretrain.py and finetune.py.

* :func:`total_batch_size`: per-device batch × processes × gradient-accumulation steps.
* :class:`TrainingPlan`: optimizer steps per epoch (``ceil(batches per epoch / accumulation)``), total
  steps (``--max_train_steps``, else epochs × steps per epoch), epochs to run, warm-up steps
  (``--warmup_steps``, else ``round(--warmup_epochs × steps per epoch)``, at most the total), the
  checkpoint period (``--checkpointing_steps N`` or ``epoch``), and the warm-up + cosine lr schedule
  built from them. :meth:`TrainingPlan.schedule` is what a checkpoint records and a resume compares.
* :class:`StartPoint` / :func:`start_point`: step 0, or the step, epoch and batch of the checkpoint a
  run resumes (through :func:`~mgm_hf.training.runtime.resume.resume_run`, which checks the settings
  and cuts the run records back).
* :func:`epoch_batches`: one epoch of the prepared DataLoader in its seeded order, without the
  batches the resumed checkpoint had already trained on.

The training loop itself stays in the scripts.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator

from mgm_hf.training.recipe.optim import cosine_schedule

from .resume import resume_run

logger = logging.getLogger(__name__)


def total_batch_size(args: argparse.Namespace, num_processes: int) -> int:
    """Clips per optimizer step: ``per_device_batch_size × num_processes × gradient_accumulation_steps``."""
    return args.per_device_batch_size * num_processes * args.gradient_accumulation_steps


def checkpoint_period(value: str | None, steps_per_epoch: int) -> int | None:
    """``--checkpointing_steps``: None (no checkpoints), ``"epoch"`` (every ``steps_per_epoch`` steps)
    or a positive number of steps; anything else raises ValueError."""
    if value is None:
        return None
    if value == "epoch":
        return steps_per_epoch
    try:
        steps = int(value)
    except ValueError:
        steps = 0
    if steps <= 0:
        raise ValueError(f"--checkpointing_steps {value!r}: give a positive number of steps or 'epoch'.")
    return steps


@dataclass(frozen=True)
class TrainingPlan:
    """How long a run trains and when it warms up and saves, in optimizer steps."""

    num_processes: int
    total_batch_size: int
    learning_rate: float
    steps_per_epoch: int
    max_steps: int
    num_epochs: int
    warmup_steps: int
    checkpoint_every: int | None

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, batches_per_epoch: int, num_processes: int,
                  learning_rate: float) -> TrainingPlan:
        """The plan for ``args`` (``gradient_accumulation_steps``, ``max_train_steps``,
        ``num_train_epochs``, ``warmup_steps``, ``warmup_epochs``, ``checkpointing_steps``,
        ``per_device_batch_size``) given ``batches_per_epoch``, the length of the prepared (per-process)
        training DataLoader."""
        if batches_per_epoch <= 0:
            raise ValueError(f"The training data cannot fill one batch of {args.per_device_batch_size} per "
                             f"process ({num_processes} processes): use more videos or a smaller batch.")
        steps_per_epoch = math.ceil(batches_per_epoch / args.gradient_accumulation_steps)
        max_steps = args.max_train_steps or args.num_train_epochs * steps_per_epoch
        warmup = args.warmup_steps if args.warmup_steps is not None else round(args.warmup_epochs * steps_per_epoch)
        return cls(
            num_processes=num_processes,
            total_batch_size=total_batch_size(args, num_processes),
            learning_rate=learning_rate,
            steps_per_epoch=steps_per_epoch,
            max_steps=max_steps,
            num_epochs=math.ceil(max_steps / steps_per_epoch),
            warmup_steps=min(warmup, max_steps),
            checkpoint_every=checkpoint_period(args.checkpointing_steps, steps_per_epoch),
        )

    def schedule(self) -> dict[str, Any]:
        """What defines the schedule (recorded in each checkpoint; a resumed run must match it)."""
        return {"total_batch_size": self.total_batch_size, "num_processes": self.num_processes,
                "learning_rate": self.learning_rate, "max_steps": self.max_steps,
                "warmup_steps": self.warmup_steps, "steps_per_epoch": self.steps_per_epoch}

    def lr_scheduler(self, optimizer: torch.optim.Optimizer, min_lr_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
        """Linear warm-up over ``warmup_steps``, then cosine decay to ``min_lr_ratio`` × the peak at
        ``max_steps``. Pass it through ``accelerator.prepare``: the prepared scheduler steps once per
        process per optimizer step, hence the lengths are multiplied by ``num_processes`` here."""
        return cosine_schedule(optimizer, self.warmup_steps * self.num_processes, self.max_steps * self.num_processes,
                               min_lr_ratio)

    def checkpoint_due(self, step: int) -> bool:
        """True when a checkpoint is to be saved after optimizer step ``step``."""
        return bool(self.checkpoint_every) and step % self.checkpoint_every == 0  # type: ignore[operator]


@dataclass(frozen=True)
class StartPoint:
    """Where a run starts: optimizer step, epoch, and batches of that epoch already trained on; with
    the checkpoint's trainer state (``{}`` for a fresh run)."""

    step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0
    checkpoint: Path | None = None
    state: dict[str, Any] = field(default_factory=dict)


def start_point(accelerator: Accelerator, checkpoint: str | Path | None, settings: dict[str, Any],
                output_dir: str | Path) -> StartPoint:
    """A fresh start (``checkpoint`` None), or the checkpoint's position after
    :func:`~mgm_hf.training.runtime.resume.resume_run` (settings checked, state restored, run records
    cut back to its step)."""
    if checkpoint is None:
        return StartPoint()
    state = resume_run(accelerator, checkpoint, settings, output_dir)
    start = StartPoint(step=int(state["global_step"]), epoch=int(state["epoch"]),
                       batches_in_epoch=int(state["batches_in_epoch"]), checkpoint=Path(checkpoint), state=state)
    if accelerator.is_main_process:
        logger.info("Resumed from %s at step %d (epoch %d, batch %d).", checkpoint, start.step, start.epoch,
                    start.batches_in_epoch)
    return start


def epoch_batches(accelerator: Accelerator, dataloader: Any, sampler: Any, epoch: int,
                  start: StartPoint) -> tuple[Iterable[Any], int]:
    """``(batches, batches_already_done)`` of ``epoch`` from the prepared ``dataloader``: the epoch
    ``start`` resumes skips the ``start.batches_in_epoch`` batches trained before the checkpoint.
    Sets the epoch on both the prepared loader (Accelerate pushes its own counter into the sampler
    when iterated) and the seeded ``sampler``, so the order depends only on the seed and the epoch."""
    batches, done = dataloader, 0
    if epoch == start.epoch and start.batches_in_epoch:
        batches, done = accelerator.skip_first_batches(dataloader, start.batches_in_epoch), start.batches_in_epoch
    batches.set_epoch(epoch)
    sampler.set_epoch(epoch)
    return batches, done


__all__ = ["StartPoint", "TrainingPlan", "checkpoint_period", "epoch_batches", "start_point", "total_batch_size"]
