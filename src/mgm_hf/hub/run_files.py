"""What a finished run leaves in its output folder for the Hub.

:func:`save_run_files` writes, next to ``save_pretrained``'s ``model.safetensors`` and
``config.json`` (which records the masking strategy):

* ``preprocessor_config.json``: a ``VideoMAEImageProcessor`` with the run's crop size, mean, std;
* ``training_args.json``: every command-line argument;
* ``all_results.json``: the measured numbers;
* ``README.md``: the model card rendered with those numbers from the packaged run template (or a
  release card of ``model_cards/``).

:func:`~mgm_hf.hub.push.push_run_to_hub` uploads that folder.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from .model_card import render_card, run_values

# What a run folder must hold before it can be pushed.
REQUIRED_FILES = ["model.safetensors", "config.json", "preprocessor_config.json", "training_args.json",
                  "README.md"]


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
    template: str | None = None,
    extra_metadata: dict[str, Any] | None = None,
) -> None:
    """Writes ``training_args.json`` (always) and, once ``config`` is known, the processor config,
    ``all_results.json`` and the model card."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    args = {**args, "_command": "accelerate launch " + shlex.join(sys.argv)}
    (output_dir / "training_args.json").write_text(json.dumps(args, indent=2, sort_keys=True, default=str))
    if config is None:
        return
    results = results or {}
    (output_dir / "all_results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    save_image_processor(output_dir, config)
    masking = (getattr(config, "masking", None) or {}).get("name")
    metadata = {"tags": [t for t in ("video-mae", "masked-autoencoder", masking and f"masking-{masking}") if t]}
    metadata.update(extra_metadata or {})
    card = render_card(template or args.get("hub_card_template"), run_values(args, results, config), metadata)
    (output_dir / "README.md").write_text(card)


__all__ = ["REQUIRED_FILES", "save_image_processor", "save_run_files"]
