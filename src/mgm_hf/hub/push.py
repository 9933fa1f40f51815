"""Pushing a finished run folder to the Hub.

:func:`push_run_to_hub` uploads exactly what :func:`~mgm_hf.hub.run_files.save_run_files` and
``save_pretrained`` wrote (never checkpoints, logs or temp folders) through ``HfApi.create_repo`` and
``HfApi.upload_folder``, for pretraining and fine-tuned runs alike.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub.utils import validate_repo_id

from .run_files import REQUIRED_FILES

UPLOAD_IGNORE = ["checkpoint-*", ".tmp-*", ".old-*", ".del-*", "logs/*", "rank_logs/*", "pictures/*",
                 "train_log.jsonl", "*.pkl", "*.bin", "*.pt", "*.pth"]


def check_push_args(push_to_hub: bool, hub_model_id: str | None) -> None:
    """Raises before any training when ``--push_to_hub`` lacks a usable ``--hub_model_id``."""
    if not push_to_hub:
        return
    if not hub_model_id:
        raise ValueError("--push_to_hub needs --hub_model_id org/name.")
    validate_repo_id(hub_model_id)


def push_run_to_hub(
    output_dir: str | Path,
    repo_id: str | None,
    private: bool = False,
    api: HfApi | None = None,
    commit_message: str = "Upload mgm_hf model",
) -> str:
    """Creates ``repo_id`` (if needed) and uploads the run folder; returns the commit URL."""
    check_push_args(True, repo_id)
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


__all__ = ["UPLOAD_IGNORE", "check_push_args", "push_run_to_hub"]
