"""What a finished run leaves in its output folder for the Hub, the same for pretraining and fine-tuning.

:func:`save_run_files` writes, next to ``save_pretrained``'s ``model.safetensors`` and ``config.json``
(the pretraining config records the masking strategy; the classifier's records the ``frame_stride``
it was trained with, see :mod:`~mgm_hf.hub.video_pipeline`):

* ``training_args.json``: every command-line argument;
* ``all_results.json``: the measured numbers;
* ``preprocessor_config.json``: a ``VideoMAEImageProcessor`` with the run's crop size, mean, std;
* ``README.md``: the model card (:mod:`~mgm_hf.hub.run_cards`) with those numbers.

``train_log.jsonl`` (the loss per logged step) is written during training by the scripts.
:func:`~mgm_hf.hub.push.push_run_to_hub` uploads the folder.

Why an image processor and not ``VideoMAEVideoProcessor``: the video processor needs torchvision
(not a dependency of mgm_hf, and its wheels do not match every torch build), and transformers'
``video-classification`` pipeline ignores ``frame_sampling_rate`` on its video-processor path, so only
the image-processor path can sample frames as the model was trained (see
:mod:`~mgm_hf.hub.video_pipeline`). Where torchvision is absent, transformers loads the image processor
as ``VideoMAEImageProcessorPil``.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from .run_cards import classifier_card, pretrained_card

# What a run folder must hold before it can be pushed.
REQUIRED_FILES = ["model.safetensors", "config.json", "preprocessor_config.json", "training_args.json",
                  "all_results.json", "README.md"]
# The kinds of runs and their cards.
RUN_CARDS = {"pretraining": pretrained_card, "video-classification": classifier_card}


def save_image_processor(output_dir: str | Path, config: Any) -> None:
    """``preprocessor_config.json`` of a ``VideoMAEImageProcessor`` matching the model's input."""
    from transformers import VideoMAEImageProcessor

    from mgm_hf.data.transforms import IMAGENET_MEAN, IMAGENET_STD

    size = config.image_size if isinstance(config.image_size, int) else int(config.image_size[0])
    processor = VideoMAEImageProcessor(
        size={"shortest_edge": size}, crop_size={"height": size, "width": size},
        image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD),
    )
    processor.save_pretrained(str(output_dir))


def save_run_files(
    output_dir: str | Path,
    args: dict[str, Any],
    results: dict[str, Any] | None = None,
    config: Any = None,
    kind: str = "pretraining",
) -> None:
    """Writes ``training_args.json`` (always) and, once ``config`` (the saved model's) is known,
    ``all_results.json``, the processor config and the ``kind`` of card (``"pretraining"`` or
    ``"video-classification"``; template: ``args["hub_card_template"]`` or the packaged one)."""
    if kind not in RUN_CARDS:
        raise ValueError(f"kind must be one of {sorted(RUN_CARDS)}, got {kind!r}.")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    args = {**args, "_command": "accelerate launch " + shlex.join(sys.argv)}
    (output_dir / "training_args.json").write_text(json.dumps(args, indent=2, sort_keys=True, default=str))
    if config is None:
        return
    results = results or {}
    (output_dir / "all_results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    save_image_processor(output_dir, config)
    card = RUN_CARDS[kind](args, results, config, args.get("hub_card_template"))
    card.save(output_dir / "README.md")


__all__ = ["REQUIRED_FILES", "RUN_CARDS", "save_image_processor", "save_run_files"]
