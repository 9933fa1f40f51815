"""The plan of a training run (mgm_hf.training.runtime.plan): step arithmetic with known answers, the
process-scaled lr schedule, and a resumed epoch that continues exactly where the checkpoint stopped."""

from __future__ import annotations

import argparse

import pytest
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader, Sampler

from mgm_hf.training.recipe.optim import peak_learning_rate
from mgm_hf.training.runtime.plan import (
    StartPoint,
    TrainingPlan,
    checkpoint_period,
    epoch_batches,
    start_point,
    total_batch_size,
)


def run_args(**overrides: object) -> argparse.Namespace:
    values = {"per_device_batch_size": 4, "gradient_accumulation_steps": 3, "max_train_steps": None,
              "num_train_epochs": 2, "warmup_steps": None, "warmup_epochs": 1.5, "checkpointing_steps": None}
    return argparse.Namespace(**{**values, **overrides})


def test_steps_epochs_warmup_and_checkpoints_from_the_arguments() -> None:
    # 10 batches per process and epoch, 3 accumulated per optimizer step -> 4 steps (the last one from 1 batch).
    plan = TrainingPlan.from_args(run_args(checkpointing_steps="epoch"), batches_per_epoch=10, num_processes=2,
                                  learning_rate=1e-3)
    assert (plan.steps_per_epoch, plan.max_steps, plan.num_epochs, plan.warmup_steps) == (4, 8, 2, 6)
    assert plan.total_batch_size == 4 * 2 * 3 == total_batch_size(run_args(), 2)
    assert plan.checkpoint_every == 4 and [s for s in range(1, 9) if plan.checkpoint_due(s)] == [4, 8]
    assert plan.schedule() == {"total_batch_size": 24, "num_processes": 2, "learning_rate": 1e-3, "max_steps": 8,
                               "warmup_steps": 6, "steps_per_epoch": 4}

    # --max_train_steps overrides the epochs (a partial last epoch counts), warm-up is capped at the total.
    plan = TrainingPlan.from_args(run_args(max_train_steps=5, warmup_steps=10, checkpointing_steps="2"),
                                  batches_per_epoch=10, num_processes=1, learning_rate=1e-3)
    assert (plan.max_steps, plan.num_epochs, plan.warmup_steps) == (5, 2, 5)
    assert [s for s in range(1, 6) if plan.checkpoint_due(s)] == [2, 4]
    assert not any(TrainingPlan.from_args(run_args(), batches_per_epoch=10, num_processes=1, learning_rate=1e-3)
                   .checkpoint_due(s) for s in range(1, 9))


def test_bad_sizes_and_checkpoint_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot fill one batch"):
        TrainingPlan.from_args(run_args(), batches_per_epoch=0, num_processes=2, learning_rate=1e-3)
    for value in ("0", "-3", "every"):
        with pytest.raises(ValueError, match="positive number of steps or 'epoch'"):
            checkpoint_period(value, steps_per_epoch=4)


def test_checkpointing_steps_is_checked_when_parsed() -> None:
    from mgm_hf.training.runtime.args import add_checkpoint_args

    parser = argparse.ArgumentParser()
    add_checkpoint_args(parser)
    assert parser.parse_args(["--checkpointing_steps", "epoch"]).checkpointing_steps == "epoch"
    assert parser.parse_args(["--checkpointing_steps", "50"]).checkpointing_steps == "50"
    with pytest.raises(SystemExit):
        parser.parse_args(["--checkpointing_steps", "often"])


def test_peak_learning_rate() -> None:
    assert peak_learning_rate("pretrain", 768, 512) == pytest.approx(3e-4)  # 1.5e-4 × 512 / 256
    assert peak_learning_rate("pretrain", 96, 256) == pytest.approx(3.2e-2)  # the tiny-model base lr
    assert peak_learning_rate("finetune", 768, 128, base_lr=1e-3) == pytest.approx(5e-4)
    assert peak_learning_rate("finetune", 768, 128, base_lr=1e-3, lr=0.25) == 0.25


def test_lr_schedule_counts_one_scheduler_step_per_process() -> None:
    """A prepared scheduler steps num_processes times per optimizer step: the warm-up must end after
    warmup_steps × num_processes scheduler steps, the cosine at max_steps × num_processes."""
    plan = TrainingPlan.from_args(run_args(max_train_steps=10, warmup_steps=4), batches_per_epoch=30,
                                  num_processes=2, learning_rate=0.5)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = plan.lr_scheduler(optimizer, min_lr_ratio=0.1)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(20):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    assert lrs[4] < 0.5 and lrs[8] == pytest.approx(0.5)  # the peak after 4 steps × 2 processes
    assert lrs[20] == pytest.approx(0.05)  # the floor after 10 × 2


class EpochPermutation(Sampler[int]):
    """A seeded permutation per epoch (the order of a resumable run depends only on seed and epoch)."""

    def __init__(self, size: int) -> None:
        self.size, self.epoch = size, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(torch.randperm(self.size, generator=torch.Generator().manual_seed(self.epoch)).tolist())

    def __len__(self) -> int:
        return self.size


def test_a_resumed_epoch_continues_with_the_batches_after_the_checkpoint() -> None:
    accelerator = Accelerator(cpu=True)
    sampler = EpochPermutation(12)
    loader = accelerator.prepare(DataLoader(list(range(12)), batch_size=2, sampler=sampler))

    def epoch(number: int, start: StartPoint) -> tuple[list[list[int]], int]:
        batches, done = epoch_batches(accelerator, loader, sampler, number, start)
        return [b.tolist() for b in batches], done

    fresh = start_point(accelerator, None, {}, "unused")
    assert fresh == StartPoint()
    full_epoch_1, done = epoch(1, fresh)
    assert done == 0 and len(full_epoch_1) == 6 and sorted(i for batch in full_epoch_1 for i in batch) == list(range(12))
    assert full_epoch_1 != epoch(2, fresh)[0]  # the epoch sets the order

    resumed = StartPoint(step=9, epoch=1, batches_in_epoch=4)
    rest, done = epoch(1, resumed)
    assert done == 4 and rest == full_epoch_1[4:]
    assert epoch(2, resumed) == epoch(2, fresh)  # later epochs are whole
