"""The model cards of the two kinds of runs, with the run's real numbers.

Metadata (``huggingface_hub.ModelCardData``), the same for both kinds: ``library_name: transformers``
(the weights load with transformers: the classifier with plain ``VideoMAEForVideoClassification``,
the pretraining checkpoint with ``AutoModelForPreTraining`` and the remote code saved beside it),
``datasets`` as Hub ids where they exist (:mod:`~mgm_hf.hub.dataset_ids`); the ``license`` is the
template's (apache-2.0 in the packaged templates, the papers' CC BY-NC 4.0 in the release cards).

* **Pretraining** (:func:`pretrained_card`): no ``pipeline_tag``, as no transformers pipeline runs a
  masked-autoencoder checkpoint without a head (``feature-extraction`` is a text pipeline, and
  ``video-classification`` needs a classifier), and a tag would advertise a Hub widget that fails. No
  ``model-index`` for the run either: its measured numbers (reconstruction loss on the training clips,
  steps, runtime) are no benchmark result a ``model-index`` could compare, so they go in the body.
  (The release cards of ``model_cards/`` keep the papers' fine-tuning accuracies in their
  ``model-index``, each labelled as reported in the paper and carrying the paper as ``source``.)
* **Video classifier** (:func:`classifier_card`): ``pipeline_tag: video-classification``,
  ``base_model`` (the pretrained checkpoint, when it is a Hub id: :func:`base_model_id`), and a
  ``model-index`` with the validation top-1 and top-5 accuracy (fractions in [0, 1], as in
  ``all_results.json``; one clip per video, centre crop).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .dataset_ids import card_dataset
from .model_card import CLASSIFIER_TEMPLATE, PRETRAINED_TEMPLATE, format_value, render_card
from .video_pipeline import frame_sampling_rate

LIBRARY_NAME = "transformers"
BASE_TAGS = ["video", "videomae", "mgm_hf"]


def pretrained_card(args: dict[str, Any], results: dict[str, Any], config: Any,
                    template: str | Path | None = None) -> ModelCard:
    """The card of a pretraining run (``args``: its command-line arguments; ``results``: what it measured)."""
    dataset = card_dataset(args.get("dataset_name"), args.get("dataset_root"))
    masking = (getattr(config, "masking", None) or {}).get("name")
    metadata = ModelCardData(
        library_name=LIBRARY_NAME, datasets=dataset.datasets or None,
        tags=[*BASE_TAGS, "self-supervised-learning", "masked-autoencoder", *([f"masking-{masking}"] if masking else [])],
    )
    return render_card(template, run_values(args, results, config), metadata, default=PRETRAINED_TEMPLATE)


def classifier_card(args: dict[str, Any], results: dict[str, Any], config: Any,
                    template: str | Path | None = None) -> ModelCard:
    """The card of a fine-tuned video classifier; ``results["validation"]`` holds its ``top1``/``top5``."""
    validation = results.get("validation") or {}
    missing = [k for k in ("top1", "top5") if k not in validation]
    if missing:
        raise ValueError(f"The classifier card needs validation {missing} in the results, got {results}.")
    dataset = card_dataset(args.get("dataset_name"), args.get("dataset_root"))
    name = model_name(args)
    split = args.get("validation_split") or "validation"
    common = {"task_type": "video-classification", "task_name": "Video Classification",
              "dataset_type": dataset.type, "dataset_name": dataset.name, "dataset_split": split}
    eval_results = [
        EvalResult(**common, metric_type="accuracy", metric_value=float(validation["top1"]),
                   metric_name="Top-1 accuracy (1 clip, centre crop)"),
        EvalResult(**common, metric_type="top_5_accuracy", metric_value=float(validation["top5"]),
                   metric_name="Top-5 accuracy (1 clip, centre crop)"),
    ]
    base = base_model_id(args.get("model_name_or_path"))
    metadata = ModelCardData(
        library_name=LIBRARY_NAME, pipeline_tag="video-classification", base_model=base,
        datasets=dataset.datasets or None, tags=[*BASE_TAGS, "video-classification"],
        model_name=name, eval_results=eval_results,
    )
    values = {
        **_common_values(args, results, config),
        "model_name": name,
        "repo_id": args.get("hub_model_id") or "<this repo or folder>",
        "base_model": f"[{base}](https://huggingface.co/{base})" if base else f"`{args.get('model_name_or_path')}` (local)",
        "frame_stride": frame_sampling_rate(config),  # raises when the config records none
        "num_labels": len(getattr(config, "id2label", {}) or {}),
        "labels": _label_list(getattr(config, "id2label", {}) or {}),
        "validation_split": split,
        "top1": float(validation["top1"]),
        "top5": float(validation["top5"]),
        "num_videos": int(validation.get("num_videos", 0)),
    }
    return render_card(template, values, metadata, default=CLASSIFIER_TEMPLATE)


def run_values(args: dict[str, Any], results: dict[str, Any], config: Any) -> dict[str, Any]:
    """Placeholder values of a pretraining card: command line, masking, sizes, measured numbers."""
    masking = dict(getattr(config, "masking", {}) or {})
    return {
        **_common_values(args, results, config),
        "masking_name": masking.get("name", "?"),
        "masking_json": json.dumps(masking, sort_keys=True),
        "mask_ratio": masking.get("mask_ratio", "?"),
    }


def _common_values(args: dict[str, Any], results: dict[str, Any], config: Any) -> dict[str, Any]:
    return {
        "image_size": getattr(config, "image_size", "?"),
        "num_frames": getattr(config, "num_frames", "?"),
        "patch_size": getattr(config, "patch_size", "?"),
        "tubelet_size": getattr(config, "tubelet_size", "?"),
        "hidden_size": getattr(config, "hidden_size", "?"),
        "num_hidden_layers": getattr(config, "num_hidden_layers", "?"),
        "dataset": card_dataset(args.get("dataset_name"), args.get("dataset_root")).name,
        "results_table": "\n".join(f"| {k} | {format_value(v)} |" for k, v in sorted(_flatten(results).items())) or "| - | - |",
        "arguments_json": json.dumps({k: v for k, v in sorted(args.items()) if _jsonable(v)}, indent=1),
        "command": args.get("_command", "accelerate launch examples/pretrain.py"),
    }


def model_name(args: dict[str, Any]) -> str:
    """The ``model-index`` name: the Hub repo's name, else the output folder's."""
    repo = args.get("hub_model_id")
    return str(repo).split("/")[-1] if repo else Path(str(args.get("output_dir", "model"))).name


def base_model_id(name_or_path: str | None) -> str | None:
    """The Hub id of the pretrained checkpoint a classifier started from: ``name_or_path`` itself when
    it is no local folder (a Hub id), else the ``hub_model_id`` that folder's run was pushed to (its
    ``training_args.json``), else None (a local model the Hub cannot link to)."""
    if not name_or_path:
        return None
    folder = Path(name_or_path)
    if not folder.exists():
        return str(name_or_path)
    args_file = folder / "training_args.json"
    if args_file.is_file():
        args = json.loads(args_file.read_text())
        if args.get("push_to_hub") and args.get("hub_model_id"):
            return str(args["hub_model_id"])
    return None


def _label_list(id2label: dict[int, str], shown: int = 12) -> str:
    """The first ``shown`` class names in label order (all of them are in ``config.json``)."""
    names = [str(v) for _, v in sorted(id2label.items())]
    return ", ".join(names[:shown]) + (f", ... ({len(names) - shown} more in config.json)" if len(names) > shown else "")


def _flatten(results: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in results.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


__all__ = ["BASE_TAGS", "LIBRARY_NAME", "base_model_id", "classifier_card", "model_name",
           "pretrained_card", "run_values"]
