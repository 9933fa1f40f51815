"""What a finished run leaves in its output folder, and pushing that folder to the Hub.

:func:`save_run_files` writes, next to ``save_pretrained``'s ``model.safetensors`` and
``config.json`` (which records the masking strategy):

* ``preprocessor_config.json``: a ``VideoMAEImageProcessor`` with the run's crop size, mean, std;
* ``training_args.json``: every command-line argument;
* ``all_results.json``: the measured numbers;
* ``README.md``: the model card rendered with those numbers from the packaged run template (or a
  release card of ``model_cards/``).

:func:`push_run_to_hub` uploads exactly that folder (never checkpoints, logs or temp folders)
through ``HfApi.create_repo`` and ``HfApi.upload_folder``.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi

from .model_card import render_card, run_values

UPLOAD_IGNORE = ["checkpoint-*", ".tmp-*", ".old-*", ".del-*", "logs/*", "rank_logs/*", "pictures/*",
                 "train_log.jsonl", "*.pkl", "*.bin", "*.pt", "*.pth"]
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


def push_run_to_hub(
    output_dir: str | Path,
    repo_id: str | None,
    template: str | None = None,
    private: bool = False,
    api: HfApi | None = None,
    commit_message: str = "Upload mgm_hf model",
) -> str:
    """Creates ``repo_id`` (if needed) and uploads the run folder; returns the commit URL."""
    if not repo_id:
        raise ValueError("--push_to_hub needs --hub_model_id org/name.")
    output_dir = Path(output_dir)
    missing = [name for name in REQUIRED_FILES if not (output_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{output_dir} lacks {missing}: run save_pretrained and save_run_files first.")
    api = api or HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    commit = api.upload_folder(
        repo_id=repo_id, folder_path=str(output_dir), repo_type="model",
        commit_message=commit_message, ignore_patterns=UPLOAD_IGNORE,
    )
    return str(getattr(commit, "commit_url", commit))


__all__ = ["REQUIRED_FILES", "UPLOAD_IGNORE", "push_run_to_hub", "save_image_processor", "save_run_files"]
