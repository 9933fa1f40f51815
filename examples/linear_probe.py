#!/usr/bin/env python
"""Linear probe: a linear classifier on frozen, mean-pooled features of a pretrained encoder.

    accelerate launch examples/linear_probe.py --model_name_or_path outputs/pretrain

Features of every video (one centre view, no augmentation) are extracted once with the frozen
``MGMVideoMAE`` encoder (no mask: all tokens), mean-pooled over tokens, standardised with a
parameter-free BatchNorm (as MAE's linear probe), and a linear head is trained on them with AdamW and
a cosine schedule. Extraction is sharded over the processes and gathered; the head is tiny and is
trained identically on every process. Reports validation top-1/top-5 (``probe_results.json``) and
saves the head as ``linear_head.safetensors`` (its metadata names the encoder and the classes).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import torch
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from safetensors.torch import save_file

from mgm_hf import MGMVideoMAE
from mgm_hf.data import class_names, resolve_dataset, video_dataset
from mgm_hf.training.classifier_eval import topk_accuracy
from mgm_hf.training.data import eval_view_loader, eval_view_transform
from mgm_hf.training.runtime.accelerator import build_accelerator
from mgm_hf.training.runtime.args import add_data_args, add_run_args, builtin_spec_from_args
from mgm_hf.training.runtime.model_source import explain_missing_model
from mgm_hf.training.runtime.output_dir import prepare_output_dir
from mgm_hf.training.runtime.summary import command, data_arguments, outputs_report, sibling_folder

logger = get_logger(__name__)
HEAD_FILE = "linear_head.safetensors"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_name_or_path", default="outputs/pretrain", help="a pretrained MGMVideoMAE")
    parser.add_argument("--probe_epochs", type=int, default=100)
    parser.add_argument("--probe_learning_rate", type=float, default=1e-2)
    parser.add_argument("--probe_weight_decay", type=float, default=0.0)
    parser.add_argument("--probe_batch_size", type=int, default=64)
    add_data_args(parser, training=False)
    add_run_args(parser, output_dir="outputs/linear_probe", training=False)
    return parser.parse_args(argv)


@torch.no_grad()
def extract(accelerator, encoder, loader) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[no-untyped-def]
    """Mean-pooled last hidden states ``(N, D)`` and labels of every video (all processes)."""
    features, labels = [], []
    for batch in loader:
        pixel_values = batch["pixel_values"][:, 0]  # the single view
        pooled = encoder(pixel_values=pixel_values).last_hidden_state.mean(1)
        pooled, batch_labels = accelerator.gather_for_metrics((pooled, batch["labels"][:, 0]))
        features.append(pooled.float().cpu())
        labels.append(batch_labels.cpu())
    return torch.cat(features), torch.cat(labels)


def train_head(features: torch.Tensor, labels: torch.Tensor, num_classes: int, args: argparse.Namespace) -> torch.nn.Module:
    head = torch.nn.Sequential(torch.nn.BatchNorm1d(features.shape[1], affine=False),
                               torch.nn.Linear(features.shape[1], num_classes))
    optimizer = torch.optim.AdamW(head.parameters(), lr=args.probe_learning_rate, weight_decay=args.probe_weight_decay)
    steps_per_epoch = -(-features.shape[0] // args.probe_batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.probe_epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(args.seed)
    head.train()
    for _ in range(args.probe_epochs):
        order = torch.randperm(features.shape[0], generator=generator)
        for i in range(0, features.shape[0], args.probe_batch_size):
            idx = order[i : i + args.probe_batch_size]
            if idx.numel() < 2:  # BatchNorm needs two samples
                continue
            loss = torch.nn.functional.cross_entropy(head(features[idx]), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return head.eval()


def save_head(head: torch.nn.Module, path: Path, *, encoder: str, labels: list[str]) -> None:
    """The head's state_dict as safetensors (``0.*``: the BatchNorm statistics, ``1.*``: the linear
    layer, as in ``train_head``'s ``Sequential``); the metadata names the encoder and the classes."""
    metadata = {"encoder": str(encoder), "id2label": json.dumps(dict(enumerate(labels))),
                "features": "mean-pooled last hidden state of the frozen encoder (no mask)"}
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(path), metadata=metadata)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    accelerator = build_accelerator(args)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    set_seed(args.seed)
    prepare_output_dir(accelerator, args.output_dir, overwrite=args.overwrite_output_dir,
                       writes=("probe_results.json", HEAD_FILE))

    overrides = {"num_frames": args.num_frames} if args.num_frames else {}
    with explain_missing_model(args.model_name_or_path):
        pretrained = MGMVideoMAE.from_pretrained(args.model_name_or_path, **overrides)
    encoder = pretrained.videomae.eval().requires_grad_(False)
    config = encoder.config
    transform = eval_view_transform(config.image_size, config.num_frames, args.frame_stride,
                                    max_failure_rate=args.max_failure_rate)
    with accelerator.main_process_first():
        name, root = resolve_dataset(args.dataset_name, args.dataset_root, builtin_spec_from_args(args))
        train_set, val_set = (video_dataset(name, root, split, transform)
                              for split in (args.train_split, args.validation_split))

    def loader(dataset):  # type: ignore[no-untyped-def]
        return eval_view_loader(dataset, batch_size=args.per_device_batch_size, num_workers=args.num_workers)

    encoder, train_loader, val_loader = accelerator.prepare(encoder, loader(train_set), loader(val_set))
    train_x, train_y = extract(accelerator, encoder, train_loader)
    val_x, val_y = extract(accelerator, encoder, val_loader)
    logger.info("Features: train %s, validation %s", tuple(train_x.shape), tuple(val_x.shape))

    labels = class_names(train_set)
    head = train_head(train_x, train_y, len(labels), args)
    with torch.no_grad():
        results = {"train": topk_accuracy(head(train_x), train_y), "validation": topk_accuracy(head(val_x), val_y)}
    if accelerator.is_main_process:
        (Path(args.output_dir) / "probe_results.json").write_text(json.dumps(results, indent=2))
        save_head(head, Path(args.output_dir) / HEAD_FILE, encoder=args.model_name_or_path, labels=labels)
        print(f"linear probe validation top1 {results['validation']['top1']:.4f} "
              f"top5 {results['validation']['top5']:.4f} (train top1 {results['train']['top1']:.4f})")
        print(outputs_report("Linear probe finished", args.output_dir, {
            "probe_results.json": "train and validation top-1/top-5",
            HEAD_FILE: "the head's weights: BatchNorm (standardises the mean-pooled features) + linear",
        }, [command("finetune.py", "--model_name_or_path", args.model_name_or_path, "--output_dir",
                    sibling_folder(args.model_name_or_path, "finetune"), *data_arguments(args))
            + "   # full fine-tuning of the same encoder"]))
    accelerator.end_training()


if __name__ == "__main__":
    main()
