#!/usr/bin/env python
"""Masked video pretraining (VideoMAE + MGM / MGMAE / tube / random masks) with Accelerate.

With no arguments it pretrains the ``tiny`` model with MGM masks on the built-in motion dataset
(generated once into ~/.cache/mgm_hf; a few minutes on 2 CPU cores):

    accelerate launch examples/pretrain.py

The papers' recipe (MGM appendix A / VideoMAE): AdamW β = (0.9, 0.95), weight decay 0.05 (none on
biases, norms, tokens), lr = base_lr × total batch / 256, linear warmup then cosine decay, mask
ratio 0.9, repeated augmentation. A paper-sized run, e.g.:

    accelerate launch --config_file examples/accelerate_configs/multi_gpu.yaml examples/pretrain.py \
        --dataset_name ssv2 --dataset_root /data/ssv2 --model_preset vit-b --image_size 224 \
        --num_frames 16 --frame_stride 2 --no_flip --masking mgm --mask_ratio 0.9 \
        --per_device_batch_size 32 --num_train_epochs 800 --warmup_epochs 40 \
        --repeated_augmentation 2 --checkpointing_steps 5000 --report_to tensorboard
"""

from __future__ import annotations

import argparse
import logging
import time

import torch
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.data import VideoTransform, pretrain_transform, resolve_dataset, video_dataset
from mgm_hf.hub import check_push_args, push_run_to_hub, save_run_files
from mgm_hf.masking import available_masking_strategies, build_masking_strategy
from mgm_hf.training.data import seeded_loader
from mgm_hf.training.recipe.optim import build_adamw, param_groups, peak_learning_rate
from mgm_hf.training.runtime.accelerator import (
    append_rank_log,
    append_train_log,
    build_accelerator,
    parameter_checksum,
    save_final_model,
)
from mgm_hf.training.runtime.args import (
    add_checkpoint_args,
    add_data_args,
    add_hub_args,
    add_optim_args,
    add_run_args,
    builtin_spec_from_args,
    json_dict,
)
from mgm_hf.training.runtime.checkpointing import save_checkpoint
from mgm_hf.training.runtime.model_source import explain_missing_model
from mgm_hf.training.runtime.output_dir import prepare_output_dir
from mgm_hf.training.runtime.pictures import PictureLogger
from mgm_hf.training.runtime.plan import TrainingPlan, epoch_batches, start_point, total_batch_size
from mgm_hf.training.runtime.resume import find_checkpoint, run_settings
from mgm_hf.training.runtime.summary import command, data_arguments, outputs_report, sibling_folder
from mgm_hf.training.runtime.trackers import start_trackers

logger = get_logger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    model = parser.add_argument_group("model")
    model.add_argument("--model_preset", default="tiny", choices=["tiny", "vit-s", "vit-b", "vit-l"])
    model.add_argument("--config_name", default=None, help="a config.json (or folder/Hub id) to start from")
    model.add_argument("--model_name_or_path", default=None, help="pretrained weights to continue from")
    model.add_argument("--norm_pix_loss", action=argparse.BooleanOptionalAction, default=True)
    model.add_argument("--gradient_checkpointing", action="store_true")
    masking = parser.add_argument_group("masking")
    masking.add_argument("--masking", default="mgm", choices=available_masking_strategies())
    masking.add_argument("--mask_ratio", type=float, default=0.9)
    masking.add_argument("--masking_options", type=json_dict, default={},
                         help='extra strategy options as JSON, e.g. \'{"top_k": 2}\' for mgm')
    masking.add_argument("--motion", default="auto", choices=["auto", "motion_vectors", "optical_flow", "none"],
                         help="motion source read with the clip (strategies without motion ignore it)")
    add_data_args(parser)
    add_optim_args(parser, base_lr=None, betas=(0.9, 0.95), warmup_epochs=1.0, epochs=20)
    add_run_args(parser, output_dir="outputs/pretrain")
    parser.add_argument("--picture_steps", type=int, default=100, help="draw mask/reconstruction every N steps")
    add_checkpoint_args(parser)
    add_hub_args(parser)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> MGMVideoMAEConfig:
    masking = {"name": args.masking, "mask_ratio": args.mask_ratio, **args.masking_options}
    overrides = {"masking": masking, "norm_pix_loss": args.norm_pix_loss}
    if args.num_frames is not None:
        overrides["num_frames"] = args.num_frames
    if args.image_size is not None:
        overrides["image_size"] = args.image_size
    source = args.config_name or args.model_name_or_path
    if source is not None:
        with explain_missing_model(source, "--config_name" if args.config_name else "--model_name_or_path"):
            config = MGMVideoMAEConfig.from_pretrained(source)
        config.update(overrides)
        config.check_masking()
        return config
    return MGMVideoMAEConfig.from_preset(args.model_preset, **overrides)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    check_push_args(args.push_to_hub, args.hub_model_id)  # before hours of training
    accelerator = build_accelerator(args)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logger.info(accelerator.state, main_process_only=False)
    set_seed(args.seed)
    checkpoint = find_checkpoint(args.resume_from_checkpoint, args.output_dir)
    prepare_output_dir(accelerator, args.output_dir, overwrite=args.overwrite_output_dir,
                       resuming=checkpoint is not None)

    # ---- model --------------------------------------------------------------------------------
    config = build_config(args)
    if args.model_name_or_path is not None:
        with explain_missing_model(args.model_name_or_path):
            model = MGMVideoMAE.from_pretrained(args.model_name_or_path, config=config)
    else:
        model = MGMVideoMAE(config)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()

    # ---- data: seeded order + per-sample seeds, masks made per row by the transform ---------------
    strategy = build_masking_strategy(config)
    motion_source = args.motion if strategy.requires_motion or args.motion != "auto" else "none"
    size = config.image_size
    transform = VideoTransform(
        pretrain_transform(size=size, flip=not args.no_flip, motion_cell=min(8, size // 4)),
        num_frames=config.num_frames, frame_stride=args.frame_stride, motion=motion_source, masking=strategy,
        max_failure_rate=args.max_failure_rate,
    )
    with accelerator.main_process_first():  # the built-in dataset is generated once
        name, root = resolve_dataset(args.dataset_name, args.dataset_root, builtin_spec_from_args(args))
        dataset = video_dataset(name, root, args.train_split, None)  # decoded by the loader, with row seeds
    dataloader, sampler = seeded_loader(
        dataset, transform, batch_size=args.per_device_batch_size, seed=args.seed,
        repeats=args.repeated_augmentation, num_workers=args.num_workers, drop_last=True,
        persistent_workers=args.num_workers > 0,
    )

    # ---- optimisation: the papers' recipe ------------------------------------------------------
    lr = peak_learning_rate("pretrain", config.hidden_size, total_batch_size(args, accelerator.num_processes),
                            args.base_learning_rate, args.learning_rate)
    optimizer = build_adamw(param_groups(model, args.weight_decay), lr, betas=(args.adam_beta1, args.adam_beta2))
    model, optimizer, dataloader = accelerator.prepare(model, optimizer, dataloader)
    plan = TrainingPlan.from_args(args, batches_per_epoch=len(dataloader), num_processes=accelerator.num_processes,
                                  learning_rate=lr)
    scheduler = accelerator.prepare(plan.lr_scheduler(optimizer, args.min_lr_ratio))

    # ---- resume: same settings only; the records of the interrupted run are cut back to its step ----
    settings = run_settings(args, config, **plan.schedule())
    start = start_point(accelerator, checkpoint, settings, args.output_dir)
    step = start.step
    loss = start.state.get("loss", float("nan"))
    first_loss = start.state.get("first_step_loss")  # a resumed run reports the original run's
    earlier_runtime = start.state.get("train_runtime_s", 0.0)
    if accelerator.is_main_process:
        save_run_files(args.output_dir, vars(args))
    start_trackers(accelerator, "mgm_pretrain", args, start_step=step)
    pictures = (PictureLogger(args.output_dir, args.picture_steps, accelerator.trackers)
                if accelerator.is_main_process else None)

    logger.info(
        "%d clips, %d processes × %d per device × %d accumulation = %d per step; lr %.3g; %d steps (%d epochs, "
        "%d warmup); masking %s", len(dataset) * args.repeated_augmentation, accelerator.num_processes,
        args.per_device_batch_size, args.gradient_accumulation_steps, plan.total_batch_size, lr, plan.max_steps,
        plan.num_epochs, plan.warmup_steps, strategy,
    )
    progress = tqdm(range(plan.max_steps), initial=step, disable=not accelerator.is_local_main_process,
                    desc="pretrain")

    # ---- train ----------------------------------------------------------------------------------
    start_time = time.time()
    model.train()
    for epoch in range(start.epoch, plan.num_epochs):
        epoch_loader, batches_in_epoch = epoch_batches(accelerator, dataloader, sampler, epoch, start)
        step_losses: list[torch.Tensor] = []
        for batch in epoch_loader:
            batches_in_epoch += 1
            with accelerator.accumulate(model):
                outputs = model(pixel_values=batch["pixel_values"], bool_masked_pos=batch["bool_masked_pos"])
                accelerator.backward(outputs.loss)
                if accelerator.sync_gradients and args.max_grad_norm is not None:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            step_losses.append(outputs.loss.detach())
            if not accelerator.sync_gradients:
                continue

            step += 1
            progress.update(1)
            loss = accelerator.gather(torch.stack(step_losses).mean()[None]).mean().item()
            step_losses = []
            if step == 1:  # a resumed run keeps the original run's (from the checkpoint)
                first_loss = loss
            if args.rank_log:
                append_rank_log(accelerator, args.output_dir, {
                    "step": step, "sample_index": batch["sample_index"].tolist(),
                    "checksum": parameter_checksum(model),
                })
            if step % args.logging_steps == 0 or step == plan.max_steps:
                record = {"step": step, "epoch": epoch, "loss": loss, "lr": scheduler.get_last_lr()[0]}
                accelerator.log({"train/loss": loss, "train/lr": record["lr"], "train/epoch": epoch}, step=step)
                progress.set_postfix(loss=f"{loss:.4f}")
                if accelerator.is_main_process:
                    append_train_log(args.output_dir, record)
            if pictures is not None:
                pictures.maybe_log(accelerator, step, batch, outputs, config)
            if plan.checkpoint_due(step):
                save_checkpoint(accelerator, args.output_dir, step, {
                    "epoch": epoch, "batches_in_epoch": batches_in_epoch, "seed": args.seed, "settings": settings,
                    "loss": loss, "first_step_loss": first_loss,
                    "train_runtime_s": round(earlier_runtime + time.time() - start_time, 1),
                }, args.checkpoints_total_limit)
            if step >= plan.max_steps:
                break
        if step >= plan.max_steps:
            break

    # ---- save -----------------------------------------------------------------------------------
    progress.close()
    unwrapped = save_final_model(accelerator, model, args.output_dir)
    if accelerator.is_main_process:
        results = {"train_loss": loss, "first_step_loss": first_loss, "train_steps": step,
                   "total_batch_size": plan.total_batch_size,
                   "train_runtime_s": round(earlier_runtime + time.time() - start_time, 1),
                   "pictures_available": bool(pictures and pictures.files())}
        if start.checkpoint is not None:
            results["resumed_from_step"] = start.step
        save_run_files(args.output_dir, vars(args), results=results, config=unwrapped.config)
        url = None
        if args.push_to_hub:
            url = push_run_to_hub(args.output_dir, args.hub_model_id, private=args.hub_private)
        print(_closing_report(args, url))
    accelerator.end_training()


def _closing_report(args: argparse.Namespace, hub_url: str | None) -> str:
    data = data_arguments(args)
    size = [*(["--image_size", str(args.image_size)] if args.image_size else []),
            *(["--num_frames", str(args.num_frames)] if args.num_frames else [])]
    steps = [
        command("finetune.py", "--model_name_or_path", args.output_dir, "--output_dir",
                sibling_folder(args.output_dir, "finetune"), *data, *size),
        command("linear_probe.py", "--model_name_or_path", args.output_dir, "--output_dir",
                sibling_folder(args.output_dir, "linear_probe"), *data),
    ]
    report = outputs_report("Pretraining finished", args.output_dir, {
        "model.safetensors": "weights (MGMVideoMAE.from_pretrained / AutoModelForPreTraining)",
        "config.json": "model config with its masking strategy",
        "README.md": "model card with this run's numbers",
        "all_results.json": "losses, steps, runtime",
        "train_log.jsonl": "loss and lr per logged step",
        "pictures": "mask/reconstruction pictures",
        "logs": "tracker logs (tensorboard --logdir)",
    }, steps)
    return report + (f"\nUploaded to the Hub: {hub_url}" if hub_url else "")


if __name__ == "__main__":
    main()
