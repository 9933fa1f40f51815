"""Argument groups shared by the example scripts, so every script spells an option the same way."""

from __future__ import annotations

import argparse

from mgm_hf.argparse_types import json_dict
from mgm_hf.data.builtin_motion import BuiltinMotionSpec
from mgm_hf.data.failures import FailureTracker

from .plan import checkpoint_period
from .trackers import REPORT_TO_CHOICES


def add_data_args(parser: argparse.ArgumentParser, frame_stride: int | None = 2, training: bool = True) -> None:
    """Dataset, clip and batch options; ``training=False`` (feature extraction, testing) leaves out
    the augmentation and input-size options, which then come from the model."""
    group = parser.add_argument_group("data")
    group.add_argument("--dataset_name", default=None,
                       help="dataset loader name (e.g. videofolder, ssv2, k400); default: the built-in motion dataset")
    group.add_argument("--dataset_root", default=None, help="root folder of the dataset")
    group.add_argument("--train_split", default="train")
    group.add_argument("--validation_split", default="validation")
    group.add_argument("--builtin_train_per_class", type=int, default=BuiltinMotionSpec.train_per_class,
                       help="size of the built-in dataset (used only without --dataset_name)")
    group.add_argument("--builtin_validation_per_class", type=int, default=BuiltinMotionSpec.validation_per_class)
    group.add_argument("--builtin_num_frames", type=int, default=BuiltinMotionSpec.num_frames)
    group.add_argument("--builtin_size", type=int, default=BuiltinMotionSpec.size)
    group.add_argument("--num_frames", type=int, default=None, help="frames per clip (default: the model's)")
    group.add_argument("--frame_stride", type=int, default=frame_stride,
                       help="temporal stride between sampled frames (papers: 4 on K400, 2 on SSv2)"
                            + ("" if frame_stride is not None else "; default: the stride the model records"))
    if training:
        group.add_argument("--image_size", type=int, default=None, help="crop size (default: the model's)")
        group.add_argument("--no_flip", action="store_true", help="no horizontal flip (SSv2: direction is the label)")
    group.add_argument("--per_device_batch_size", type=int, default=8)
    group.add_argument("--num_workers", type=int, default=0, help="DataLoader worker processes")
    group.add_argument("--max_failure_rate", type=float, default=FailureTracker.max_failure_rate,
                       help="largest share of videos that may fail to decode (each is logged and skipped); "
                            "above it the run stops with TooManyFailuresError")


def add_optim_args(parser: argparse.ArgumentParser, base_lr: float | None, betas: tuple[float, float],
                   weight_decay: float = 0.05, warmup_epochs: float | None = 0.0, epochs: int | None = 1) -> None:
    group = parser.add_argument_group("optimisation (the papers' AdamW recipe)")
    group.add_argument("--base_learning_rate", type=float, default=base_lr,
                       help="lr = base_learning_rate × total batch size / 256 (default: the papers' "
                            "value; 3.2e-2 for models of width <= 128, e.g. tiny: see mgm_hf.training.recipe.optim.default_base_lr)")
    group.add_argument("--learning_rate", type=float, default=None, help="absolute lr (overrides the scaling rule)")
    group.add_argument("--min_lr_ratio", type=float, default=0.01, help="cosine floor as a fraction of the peak lr")
    group.add_argument("--adam_beta1", type=float, default=betas[0])
    group.add_argument("--adam_beta2", type=float, default=betas[1])
    group.add_argument("--weight_decay", type=float, default=weight_decay)
    group.add_argument("--max_grad_norm", type=float, default=None, help="clip gradients to this norm")
    group.add_argument("--num_train_epochs", type=int, default=epochs)
    group.add_argument("--max_train_steps", type=int, default=None, help="optimizer steps; overrides epochs")
    group.add_argument("--warmup_epochs", type=float, default=warmup_epochs)
    group.add_argument("--warmup_steps", type=int, default=None, help="overrides --warmup_epochs")
    group.add_argument("--gradient_accumulation_steps", type=int, default=1)
    group.add_argument("--repeated_augmentation", type=int, default=1,
                       help="views of each video per epoch, adjacent in the order (papers: 2)")


def add_run_args(parser: argparse.ArgumentParser, output_dir: str, training: bool = True) -> None:
    """Output folder, seed, device, and for training scripts (``training=True``) the per-step
    logging (``--report_to``, ``--logging_steps``, ``--rank_log``), which the others do not do."""
    group = parser.add_argument_group("run")
    group.add_argument("--output_dir", default=output_dir)
    group.add_argument("--overwrite_output_dir", action="store_true",
                       help="replace the run already in --output_dir (without it, such a folder is refused)")
    group.add_argument("--seed", type=int, default=0)
    group.add_argument("--cpu", action="store_true",
                       help="force CPU (also automatic without CUDA: Accelerator(cpu=True), so a 2-process "
                            "CPU launch is one gloo job, not two silent copies)")
    group.add_argument("--mixed_precision", choices=["no", "fp16", "bf16"], default=None,
                       help="default: what `accelerate launch` was given")
    if training:
        group.add_argument("--report_to", choices=REPORT_TO_CHOICES, default="tensorboard",
                           help="experiment tracker (tensorboard works with the plain install; others need "
                                "their package; 'all': every installed one)")
        group.add_argument("--logging_steps", type=int, default=1)
        group.add_argument("--rank_log", action="store_true",
                           help="each process appends world size, its sample ids and a parameter checksum per "
                                "step to <output_dir>/rank_logs/ (proves data-parallel sharding)")


def checkpointing_steps(text: str) -> str:
    """argparse type of ``--checkpointing_steps``: a positive number of steps or ``epoch`` (kept as
    given; :func:`~mgm_hf.training.runtime.plan.checkpoint_period` turns it into steps)."""
    try:
        checkpoint_period(text, steps_per_epoch=1)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def add_checkpoint_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("checkpointing")
    group.add_argument("--checkpointing_steps", default=None, type=checkpointing_steps,
                       help="save the training state every N optimizer steps, or 'epoch'")
    group.add_argument("--resume_from_checkpoint", default=None, help="a checkpoint folder or 'latest'")
    group.add_argument("--checkpoints_total_limit", type=int, default=None, help="keep only the newest N")


def add_hub_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Hugging Face Hub")
    group.add_argument("--push_to_hub", action="store_true")
    group.add_argument("--hub_model_id", default=None, help="org/name")
    group.add_argument("--hub_private", action="store_true")
    group.add_argument("--hub_card_template", default=None,
                       help="a release card of model_cards/ or a template file (default: the packaged run template)")


def builtin_spec_from_args(args: argparse.Namespace) -> BuiltinMotionSpec:
    return BuiltinMotionSpec(
        train_per_class=args.builtin_train_per_class,
        validation_per_class=args.builtin_validation_per_class,
        num_frames=args.builtin_num_frames,
        size=args.builtin_size,
        square_size=max(4, args.builtin_size * 5 // 16),
    )


__all__ = ["add_checkpoint_args", "add_data_args", "add_hub_args", "add_optim_args", "add_run_args",
           "builtin_spec_from_args", "checkpointing_steps", "json_dict"]
