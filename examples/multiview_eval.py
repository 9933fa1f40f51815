#!/usr/bin/env python
"""Multi-view testing of a fine-tuned video classifier: top-1 / top-5.

    accelerate launch examples/multiview_eval.py --model_name_or_path outputs/finetune --views ssv2

Each video gives ``temporal views × spatial crops`` clips (the papers' protocols: ``ssv2`` = 2 × 3
with TSN segment views, ``k400`` = 5 × 3 with evenly spaced dense clips; ``single`` = 1 × 1 centre;
or set ``--num_temporal_views``/``--num_spatial_crops``). Softmax scores are averaged over the views.
Videos are sharded over the processes and gathered with ``gather_for_metrics``; top-1/top-5 come
from ``mgm_hf.training.classifier_eval``.

(Named ``multiview_eval.py``, not ``evaluate.py``: a script's folder comes first on ``sys.path``, so
that name would shadow the ``evaluate`` library for anything imported from here.)
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from accelerate.logging import get_logger
from transformers import PretrainedConfig, VideoMAEForVideoClassification

from mgm_hf.data import class_names, resolve_dataset, video_dataset
from mgm_hf.hub.video_pipeline import FRAME_STRIDE_KEY
from mgm_hf.training.classifier_eval import VIEW_PRESETS, evaluate_classifier
from mgm_hf.training.data import eval_view_loader, eval_view_transform
from mgm_hf.training.runtime.accelerator import build_accelerator
from mgm_hf.training.runtime.args import add_data_args, add_run_args, builtin_spec_from_args
from mgm_hf.training.runtime.model_source import explain_missing_model
from mgm_hf.training.runtime.output_dir import prepare_output_dir
from mgm_hf.training.runtime.summary import command, data_arguments, outputs_report

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
    add_data_args(parser, frame_stride=None, training=False)
    add_run_args(parser, output_dir="outputs/multiview_eval", training=False)
    return parser.parse_args(argv)


def load_classifier(name_or_path: str, **overrides: int) -> VideoMAEForVideoClassification:
    """The video classifier at ``name_or_path``; a model that is not one (e.g. a pretraining
    checkpoint, whose head would be random) or lacks weights raises a ValueError saying so."""
    with explain_missing_model(name_or_path):
        config, _ = PretrainedConfig.get_config_dict(name_or_path)
        architectures = config.get("architectures") or []
        if not any(name.endswith("ForVideoClassification") for name in architectures):
            raise ValueError(
                f"{name_or_path} is not a video classifier (its config.json names {architectures or 'no'} "
                "architecture), so it has no trained classification head to evaluate. Fine-tune it first "
                f"(accelerate launch examples/finetune.py --model_name_or_path {name_or_path}) or measure its "
                "features with examples/linear_probe.py."
            )
        model, info = VideoMAEForVideoClassification.from_pretrained(name_or_path, output_loading_info=True,
                                                                     **overrides)
    missing = sorted(info["missing_keys"])
    if missing:
        raise ValueError(f"{name_or_path} lacks weights of the classifier ({missing[:5]}...): they would be random.")
    return model.eval()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    accelerator = build_accelerator(args)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    prepare_output_dir(accelerator, args.output_dir, overwrite=args.overwrite_output_dir, writes=("eval_results.json",))
    temporal, crops = VIEW_PRESETS[args.views]
    temporal = args.num_temporal_views or temporal
    crops = args.num_spatial_crops or crops
    sampling = args.sampling or ("segments" if args.views == "ssv2" else "dense")

    overrides = {"num_frames": args.num_frames} if args.num_frames else {}
    model = load_classifier(args.model_name_or_path, **overrides)
    frame_stride = args.frame_stride or getattr(model.config, FRAME_STRIDE_KEY, None)  # as fine-tuned
    if frame_stride is None:
        raise ValueError(f"{args.model_name_or_path} records no frame_stride (the stride it was fine-tuned with): "
                         "pass --frame_stride.")
    transform = eval_view_transform(model.config.image_size, model.config.num_frames, frame_stride,
                                    num_temporal_views=temporal, num_crops=crops, sampling=sampling,
                                    short_side=args.short_side, max_failure_rate=args.max_failure_rate)
    with accelerator.main_process_first():
        name, root = resolve_dataset(args.dataset_name, args.dataset_root, builtin_spec_from_args(args))
        dataset = video_dataset(name, root, args.validation_split, transform)
    if model.config.num_labels != len(class_names(dataset)):
        raise ValueError(f"The model has {model.config.num_labels} classes, the dataset {len(class_names(dataset))}.")
    loader = eval_view_loader(dataset, batch_size=args.per_device_batch_size, num_workers=args.num_workers)
    model, loader = accelerator.prepare(model, loader)
    results = evaluate_classifier(accelerator, model, loader)
    results.update(temporal_views=temporal, spatial_crops=crops, sampling=sampling, frame_stride=frame_stride)
    if accelerator.is_main_process:
        (Path(args.output_dir) / "eval_results.json").write_text(json.dumps(results, indent=2))
        print(f"{temporal}×{crops} views ({sampling}): top1 {results['top1']:.4f} top5 {results['top5']:.4f} "
              f"on {int(results['num_videos'])} videos")
        other = "k400" if args.views != "k400" else "ssv2"
        print(outputs_report("Evaluation finished", args.output_dir,
                             {"eval_results.json": "top-1/top-5, views, number of videos"},
                             [command("multiview_eval.py", "--model_name_or_path", args.model_name_or_path, "--output_dir",
                                      f"{args.output_dir}_{other}", "--views", other, *data_arguments(args))
                              + "   # another protocol",
                              f"hf upload <org/name> {args.model_name_or_path}   # share the classifier"]))
    accelerator.end_training()


if __name__ == "__main__":
    main()
