#!/usr/bin/env python
"""Multi-view testing of a fine-tuned video classifier: top-1 / top-5.

    accelerate launch examples/evaluate.py --model_name_or_path outputs/finetune --views ssv2

Each video gives ``temporal views × spatial crops`` clips (the papers' protocols: ``ssv2`` = 2 × 3
with TSN segment views, ``k400`` = 5 × 3 with evenly spaced dense clips; ``single`` = 1 × 1 centre;
or set ``--num_temporal_views``/``--num_spatial_crops``). Softmax scores are averaged over the views.
Videos are sharded over the processes and gathered with ``gather_for_metrics``. Top-1 also goes
through the ``evaluate`` library's ``accuracy`` when its script is cached (it cannot be fetched
offline and has no top-k), so top-1/top-5 are computed by ``mgm_hf.training.metrics``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from accelerate.logging import get_logger
from transformers import VideoMAEForVideoClassification

from mgm_hf.training.args import add_data_args, add_run_args, builtin_spec_from_args
from mgm_hf.training.data import (
    class_names,
    eval_view_loader,
    eval_view_transform,
    resolve_dataset,
    video_dataset,
)
from mgm_hf.training.evaluation import VIEW_PRESETS, evaluate_classifier
from mgm_hf.training.runtime import build_accelerator

logger = get_logger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_name_or_path", default="outputs/finetune", help="a fine-tuned VideoMAE classifier")
    parser.add_argument("--views", choices=sorted(VIEW_PRESETS), default="ssv2")
    parser.add_argument("--num_temporal_views", type=int, default=None, help="overrides --views")
    parser.add_argument("--num_spatial_crops", type=int, choices=[1, 3], default=None, help="overrides --views")
    parser.add_argument("--sampling", choices=["dense", "segments"], default=None,
                        help="temporal views: dense clips (K400) or TSN segments (SSv2); default from --views")
    parser.add_argument("--short_side", type=int, default=None, help="resize before cropping (default: crop size)")
    add_data_args(parser, training=False)
    add_run_args(parser, output_dir="outputs/evaluate")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    accelerator = build_accelerator(args)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    temporal, crops = VIEW_PRESETS[args.views]
    temporal = args.num_temporal_views or temporal
    crops = args.num_spatial_crops or crops
    sampling = args.sampling or ("segments" if args.views == "ssv2" else "dense")

    overrides = {"num_frames": args.num_frames} if args.num_frames else {}
    model = VideoMAEForVideoClassification.from_pretrained(args.model_name_or_path, **overrides).eval()
    transform = eval_view_transform(model.config.image_size, model.config.num_frames, args.frame_stride,
                                    num_temporal_views=temporal, num_crops=crops, sampling=sampling,
                                    short_side=args.short_side)
    with accelerator.main_process_first():
        name, root = resolve_dataset(args.dataset_name, args.dataset_root, builtin_spec_from_args(args))
        dataset = video_dataset(name, root, args.validation_split, transform)
    if model.config.num_labels != len(class_names(dataset)):
        raise ValueError(f"The model has {model.config.num_labels} classes, the dataset {len(class_names(dataset))}.")
    loader = eval_view_loader(dataset, batch_size=args.per_device_batch_size, num_workers=args.num_workers)
    model, loader = accelerator.prepare(model, loader)
    results = evaluate_classifier(accelerator, model, loader)
    results.update(temporal_views=temporal, spatial_crops=crops, sampling=sampling)
    if accelerator.is_main_process:
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(args.output_dir) / "eval_results.json").write_text(json.dumps(results, indent=2))
        print(f"{temporal}×{crops} views ({sampling}): top1 {results['top1']:.4f} top5 {results['top5']:.4f} "
              f"on {int(results['num_videos'])} videos")
    accelerator.end_training()


if __name__ == "__main__":
    main()
