#!/usr/bin/env python
"""Fine-tunes a pretrained MGMVideoMAE encoder for video classification with Accelerate.

With no arguments it fine-tunes ``outputs/pretrain`` (what ``examples/pretrain.py`` writes by default)
on the built-in motion dataset and reports validation top-1/top-5:

    accelerate launch examples/pretrain.py && accelerate launch examples/finetune.py

Recipe (MGM appendix A, Table 6 / VideoMAE): ``transformers.VideoMAEForVideoClassification`` (mean
pooling + fc_norm + linear head), AdamW β = (0.9, 0.999), weight decay 0.05, layer-wise lr decay
0.75, lr = base_lr × batch / 256, warmup + cosine, drop path 0.1, label smoothing 0.1, mixup 0.8 /
cutmix 1.0, repeated augmentation 2. Transformers' VideoMAE has no drop path: we add it with forward
hooks (``mgm_hf.training.recipe.drop_path``), so the saved weights stay plain transformers VideoMAE.

Defaults that the papers set per dataset follow ``PAPER_RECIPE`` (SSv2-like) or, on the built-in
dataset, ``BUILTIN_RECIPE`` (no flips, as its labels are directions, milder crops, no mixup/cutmix,
more epochs); anything given on the command line wins.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from accelerate.logging import get_logger
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from mgm_hf.data import VideoTransform, class_names, finetune_transform, resolve_dataset, video_dataset
from mgm_hf.hub import check_push_args, push_run_to_hub, record_frame_sampling, save_run_files
from mgm_hf.models.transfer import classifier_from_pretrained
from mgm_hf.training.classifier_eval import evaluate_classifier
from mgm_hf.training.data import eval_view_loader, eval_view_transform, seeded_loader
from mgm_hf.training.recipe.drop_path import add_drop_path
from mgm_hf.training.recipe.mixup import VideoMixup, soft_cross_entropy
from mgm_hf.training.recipe.optim import build_adamw, param_groups, peak_learning_rate
from mgm_hf.training.runtime.accelerator import append_train_log, build_accelerator, save_final_model
from mgm_hf.training.runtime.args import (
    add_checkpoint_args,
    add_data_args,
    add_hub_args,
    add_optim_args,
    add_run_args,
    builtin_spec_from_args,
)
from mgm_hf.training.runtime.checkpointing import save_checkpoint
from mgm_hf.training.runtime.model_source import explain_missing_model
from mgm_hf.training.runtime.output_dir import prepare_output_dir
from mgm_hf.training.runtime.plan import TrainingPlan, epoch_batches, start_point, total_batch_size
from mgm_hf.training.runtime.resume import find_checkpoint, run_settings
from mgm_hf.training.runtime.summary import command, data_arguments, outputs_report, sibling_folder
from mgm_hf.training.runtime.trackers import start_trackers

logger = get_logger(__name__)
# MGM Table 6 / VideoMAE (SSv2, K400): 5 warmup epochs, 30 (SSv2) – 75 (K400) epochs, mixup 0.8, cutmix 1.0.
PAPER_RECIPE = {"mixup": 0.8, "cutmix": 1.0, "min_crop_scale": 0.08, "warmup_epochs": 5.0, "num_train_epochs": 30}
# The built-in dataset on CPU: 144 clips whose label is a direction. Without flips, with crops that keep
# the moving object in view, and without mixup/cutmix (which slow a tiny ViT down too much for a
# few-minute run); 40 epochs (720 steps of 8) is about where the tiny model starts to separate the classes.
BUILTIN_RECIPE = {"mixup": 0.0, "cutmix": 0.0, "min_crop_scale": 0.5, "warmup_epochs": 2.0, "num_train_epochs": 40}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_name_or_path", default="outputs/pretrain", help="a pretrained MGMVideoMAE")
    recipe = parser.add_argument_group("recipe (default: PAPER_RECIPE, or BUILTIN_RECIPE on the built-in dataset)")
    recipe.add_argument("--layer_decay", type=float, default=0.75)
    recipe.add_argument("--drop_path", type=float, default=0.1)
    recipe.add_argument("--label_smoothing", type=float, default=0.1)
    recipe.add_argument("--mixup", type=float, default=None, help="mixup alpha (0 disables)")
    recipe.add_argument("--cutmix", type=float, default=None, help="cutmix alpha (0 disables)")
    recipe.add_argument("--mixup_prob", type=float, default=1.0)
    recipe.add_argument("--mixup_switch_prob", type=float, default=0.5)
    recipe.add_argument("--min_crop_scale", type=float, default=None, help="random resized crop area floor")
    parser.add_argument("--gradient_checkpointing", action="store_true")
    add_data_args(parser)
    add_optim_args(parser, base_lr=None, betas=(0.9, 0.999), warmup_epochs=None, epochs=None)
    add_run_args(parser, output_dir="outputs/finetune")
    add_checkpoint_args(parser)
    add_hub_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    check_push_args(args.push_to_hub, args.hub_model_id)  # before any training
    accelerator = build_accelerator(args)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    set_seed(args.seed)
    checkpoint = find_checkpoint(args.resume_from_checkpoint, args.output_dir)
    prepare_output_dir(accelerator, args.output_dir, overwrite=args.overwrite_output_dir,
                       resuming=checkpoint is not None)
    recipe = BUILTIN_RECIPE if args.dataset_name is None else PAPER_RECIPE
    for key, value in recipe.items():  # fill what the command line left unset
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.dataset_name is None:
        args.no_flip = True  # the labels are directions
    logger.info("Recipe: %s, flip %s", {k: getattr(args, k) for k in recipe}, not args.no_flip)

    # ---- data: files and classes (the transforms need the model's sizes) -----------------------------
    with accelerator.main_process_first():
        name, root = resolve_dataset(args.dataset_name, args.dataset_root, builtin_spec_from_args(args))
        train_set = video_dataset(name, root, args.train_split, None)
    id2label = dict(enumerate(class_names(train_set)))

    # ---- model: pretrained encoder + fresh head, drop path -----------------------------------------
    sizes = {k: v for k, v in (("image_size", args.image_size), ("num_frames", args.num_frames)) if v}
    with explain_missing_model(args.model_name_or_path):
        model = classifier_from_pretrained(args.model_name_or_path, id2label, **sizes)  # sin-cos positions: any size
    record_frame_sampling(model.config, args.frame_stride)  # saved in config.json, read by the pipeline
    add_drop_path(model.videomae.encoder.layer, args.drop_path)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    config = model.config
    num_frames, size = config.num_frames, config.image_size

    train_transform = VideoTransform(
        finetune_transform(size=size, flip=not args.no_flip, scale=(args.min_crop_scale, 1.0),
                           motion_cell=min(8, size // 4)),
        num_frames=num_frames, frame_stride=args.frame_stride, motion="none", max_failure_rate=args.max_failure_rate,
    )
    train_loader, sampler = seeded_loader(
        train_set, train_transform, batch_size=args.per_device_batch_size, seed=args.seed,
        repeats=args.repeated_augmentation, num_workers=args.num_workers, drop_last=True,
    )
    val_set = video_dataset(name, root, args.validation_split,
                            eval_view_transform(size, num_frames, args.frame_stride,
                                                max_failure_rate=args.max_failure_rate))
    val_loader = eval_view_loader(val_set, batch_size=args.per_device_batch_size, num_workers=args.num_workers)

    # ---- optimisation: layer-wise lr decay ------------------------------------------------------------
    lr = peak_learning_rate("finetune", config.hidden_size, total_batch_size(args, accelerator.num_processes),
                            args.base_learning_rate, args.learning_rate)
    groups = param_groups(model, args.weight_decay, layer_decay=args.layer_decay)
    optimizer = build_adamw(groups, lr, betas=(args.adam_beta1, args.adam_beta2))
    model, optimizer, train_loader, val_loader = accelerator.prepare(model, optimizer, train_loader, val_loader)
    plan = TrainingPlan.from_args(args, batches_per_epoch=len(train_loader), num_processes=accelerator.num_processes,
                                  learning_rate=lr)
    scheduler = accelerator.prepare(plan.lr_scheduler(optimizer, args.min_lr_ratio))
    mixup = VideoMixup(len(id2label), args.mixup, args.cutmix, args.mixup_prob, args.mixup_switch_prob,
                       args.label_smoothing)

    # ---- resume: same settings only; the records of the interrupted run are cut back to its step ----
    settings = run_settings(args, config, **plan.schedule())
    start = start_point(accelerator, checkpoint, settings, args.output_dir)
    step = start.step
    if accelerator.is_main_process:
        save_run_files(args.output_dir, vars(args))
    start_trackers(accelerator, "mgm_finetune", args, start_step=step)
    logger.info("%d train / %d validation videos, %d classes; lr %.3g (batch %d), %d steps",
                len(train_set), len(val_set), len(id2label), lr, plan.total_batch_size, plan.max_steps)

    # ---- train + validate each epoch --------------------------------------------------------------------
    progress = tqdm(range(plan.max_steps), initial=step, disable=not accelerator.is_local_main_process,
                    desc="finetune")
    metrics: dict[str, float] = {}
    for epoch in range(start.epoch, plan.num_epochs):
        model.train()
        epoch_loader, batches_in_epoch = epoch_batches(accelerator, train_loader, sampler, epoch, start)
        for batch in epoch_loader:
            batches_in_epoch += 1
            with accelerator.accumulate(model):
                pixel_values, targets = mixup(batch["pixel_values"], batch["labels"])
                loss = soft_cross_entropy(model(pixel_values=pixel_values).logits, targets)
                accelerator.backward(loss)
                if accelerator.sync_gradients and args.max_grad_norm is not None:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            if not accelerator.sync_gradients:
                continue
            step += 1
            progress.update(1)
            if step % args.logging_steps == 0:
                value = accelerator.gather(loss.detach()[None]).mean().item()
                accelerator.log({"train/loss": value, "train/lr": scheduler.get_last_lr()[-1]}, step=step)
                progress.set_postfix(loss=f"{value:.4f}")
                if accelerator.is_main_process:
                    append_train_log(args.output_dir, {"step": step, "epoch": epoch, "loss": value})
            if plan.checkpoint_due(step):
                save_checkpoint(accelerator, args.output_dir, step, {
                    "epoch": epoch, "batches_in_epoch": batches_in_epoch, "seed": args.seed, "settings": settings,
                }, args.checkpoints_total_limit)
            if step >= plan.max_steps:
                break
        metrics = evaluate_classifier(accelerator, model, val_loader)
        accelerator.log({f"eval/{k}": v for k, v in metrics.items()}, step=step)
        logger.info("epoch %d: validation %s", epoch, metrics)
        if step >= plan.max_steps:
            break

    # ---- save ---------------------------------------------------------------------------------------------
    progress.close()
    unwrapped = save_final_model(accelerator, model, args.output_dir)
    if accelerator.is_main_process:
        Path(args.output_dir, "eval_results.json").write_text(
            json.dumps({"validation": metrics, "steps": step}, indent=2))
        results = {"validation": metrics, "train_steps": step, "total_batch_size": plan.total_batch_size}
        if start.checkpoint is not None:
            results["resumed_from_step"] = start.step
        save_run_files(args.output_dir, vars(args), results=results, config=unwrapped.config,
                       kind="video-classification")
        url = push_run_to_hub(args.output_dir, args.hub_model_id, private=args.hub_private) if args.push_to_hub else None
        print(f"validation top1 {metrics.get('top1', float('nan')):.4f} top5 {metrics.get('top5', float('nan')):.4f} "
              f"({int(metrics.get('num_videos', 0))} videos, 1 view)")
        print(_closing_report(args, url))
    accelerator.end_training()


def _closing_report(args: argparse.Namespace, hub_url: str | None) -> str:
    views = "ssv2" if args.dataset_name in (None, "builtin", "ssv2") else "k400"
    steps = [command("multiview_eval.py", "--model_name_or_path", args.output_dir, "--output_dir",
                     sibling_folder(args.output_dir, "multiview_eval"), "--views", views, *data_arguments(args))]
    report = outputs_report("Fine-tuning finished", args.output_dir, {
        "model.safetensors": "classifier weights (VideoMAEForVideoClassification.from_pretrained)",
        "config.json": "classifier config with the class names and the frame stride",
        "preprocessor_config.json": "VideoMAEImageProcessor for this input size",
        "README.md": "model card with this run's numbers (model-index)",
        "eval_results.json": "validation top-1/top-5 (one view per video)",
        "all_results.json": "validation numbers, steps, batch size",
        "training_args.json": "every argument of this run",
        "train_log.jsonl": "loss per logged step",
        "logs": "tracker logs (tensorboard --logdir)",
    }, steps)
    return report + (f"\nUploaded to the Hub: {hub_url}" if hub_url else "")


if __name__ == "__main__":
    main()
