"""Hub: offline loading from a real cache layout, and the upload path at ``HfApi``'s boundary.

The Hub servers are the one thing out of reach, so ``HfApi.create_repo``/``upload_folder`` are
overridden to record their arguments and to copy exactly the files ``upload_folder`` would send
(same ``ignore_patterns`` filtering). Those files are then laid out as a download leaves them in
``$HF_HOME/hub`` and loaded back with ``from_pretrained("org/name")`` under ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.utils import filter_repo_objects

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.hub import REQUIRED_FILES, push_run_to_hub, save_run_files
from mgm_hf.hub.model_card import render_card, run_values

ROOT = Path(__file__).resolve().parents[1]
REPO_ID = "mgm-hf/tiny-test"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class RecordingApi(HfApi):
    """``HfApi`` whose two server calls record their arguments and copy what would be uploaded."""

    def __init__(self, remote: Path) -> None:
        super().__init__(token=False)
        self.remote = remote
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_repo(self, repo_id: str, **kwargs: Any) -> str:  # type: ignore[override]
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, repo_id: str, folder_path: str, **kwargs: Any) -> str:  # type: ignore[override]
        self.calls.append(("upload_folder", {"repo_id": repo_id, "folder_path": folder_path, **kwargs}))
        files = sorted(str(p.relative_to(folder_path)) for p in Path(folder_path).rglob("*") if p.is_file())
        for rel in filter_repo_objects(files, allow_patterns=kwargs.get("allow_patterns"),
                                       ignore_patterns=kwargs.get("ignore_patterns")):
            (self.remote / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(folder_path) / rel, self.remote / rel)
        return f"https://huggingface.co/{repo_id}/commit/{COMMIT}"


def lay_out_cache(files: Path, hf_home: Path, repo_id: str = REPO_ID, commit: str = COMMIT) -> Path:
    """``$HF_HOME/hub/models--org--name/{blobs/<sha256>, snapshots/<commit>/<file> -> blob, refs/main}``."""
    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True)
    for path in sorted(p for p in files.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        shutil.copy2(path, repo / "blobs" / digest)
        link = snapshot / path.relative_to(files)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(repo / "blobs" / digest, link.parent), link)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return repo


def load_offline(hf_home: Path, code: str) -> str:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """What examples/pretrain.py leaves: weights, config, run files, plus junk that must not go up."""
    config = MGMVideoMAEConfig.from_preset("tiny", image_size=32, num_frames=4,
                                           masking={"name": "tube", "mask_ratio": 0.75})
    model = MGMVideoMAE(config)
    out = tmp_path / "run"
    model.save_pretrained(out)
    args = {"masking": "tube", "seed": 3, "per_device_batch_size": 4, "hub_card_template": None}
    save_run_files(out, args, results={"train_loss": 0.8765432, "train_steps": 123}, config=config)
    (out / "checkpoint-5").mkdir()
    (out / "checkpoint-5" / "optimizer.bin").write_bytes(b"x")
    (out / "train_log.jsonl").write_text("{}\n")
    return out


def test_push_uploads_a_complete_folder_that_loads_back(run_folder: Path, tmp_path: Path) -> None:
    api = RecordingApi(tmp_path / "remote")
    url = push_run_to_hub(run_folder, REPO_ID, api=api)
    assert url.endswith(COMMIT)
    assert [name for name, _ in api.calls] == ["create_repo", "upload_folder"]
    assert api.calls[0][1]["repo_id"] == REPO_ID and api.calls[0][1]["exist_ok"] is True
    remote = tmp_path / "remote"
    uploaded = {str(p.relative_to(remote)) for p in remote.rglob("*") if p.is_file()}
    assert set(REQUIRED_FILES) <= uploaded
    assert not any(name.startswith("checkpoint-") or name == "train_log.jsonl" for name in uploaded)

    config = json.loads((remote / "config.json").read_text())
    assert config["masking"] == {"name": "tube", "mask_ratio": 0.75}
    processor = json.loads((remote / "preprocessor_config.json").read_text())
    assert processor["crop_size"] == {"height": 32, "width": 32}
    assert processor["image_mean"] == [0.485, 0.456, 0.406] and processor["image_std"] == [0.229, 0.224, 0.225]
    assert json.loads((remote / "training_args.json").read_text())["seed"] == 3
    card = ModelCard.load(remote / "README.md")
    assert card.data.library_name == "mgm_hf" and "masking-tube" in card.data.tags
    assert "0.876543" in card.text and "123" in card.text  # the run's real numbers
    assert "${" not in card.content

    hf_home = tmp_path / "hf_home"
    lay_out_cache(remote, hf_home)
    out = load_offline(hf_home, (
        "import torch; from mgm_hf import MGMVideoMAE; from transformers import VideoMAEImageProcessor\n"
        f"m = MGMVideoMAE.from_pretrained({REPO_ID!r}); p = VideoMAEImageProcessor.from_pretrained({REPO_ID!r})\n"
        "print(m.config.masking['name'], p.crop_size['height'], "
        "float(m.videomae.embeddings.patch_embeddings.projection.weight.sum()))"
    ))
    original = MGMVideoMAE.from_pretrained(run_folder)
    name, crop, checksum = out.split()
    assert (name, crop) == ("tube", "32")
    assert float(checksum) == float(original.videomae.embeddings.patch_embeddings.projection.weight.detach().sum())


def test_offline_load_fails_without_the_cache(tmp_path: Path) -> None:
    # The same call with an empty HF_HOME must fail (so the test above really reads the cache).
    env = {**os.environ, "HF_HOME": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"}
    code = f"from mgm_hf import MGMVideoMAE; MGMVideoMAE.from_pretrained({REPO_ID!r})"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0


def test_push_refuses_incomplete_folders_and_missing_repo_id(run_folder: Path, tmp_path: Path) -> None:
    api = RecordingApi(tmp_path / "remote")
    with pytest.raises(ValueError, match="hub_model_id"):
        push_run_to_hub(run_folder, None, api=api)
    (run_folder / "preprocessor_config.json").unlink()
    with pytest.raises(FileNotFoundError, match="preprocessor_config"):
        push_run_to_hub(run_folder, REPO_ID, api=api)
    assert api.calls == []


@pytest.mark.parametrize("name", ["mgm-vitb-k400", "mgm-vitb-ssv2", "mgmae-vitb-k400", "mgmae-vitb-ssv2"])
def test_release_cards_have_metadata_and_labelled_paper_numbers(name: str) -> None:
    card = ModelCard.load(ROOT / "model_cards" / f"{name}.md")
    data = card.data
    assert data.license and data.library_name == "mgm_hf" and data.datasets
    assert data.eval_results, "model-index with the papers' reported results"
    for result in data.eval_results:
        assert "reported in the paper" in result.metric_name and "not measured" in result.metric_name
        assert 60 < result.metric_value < 100
    assert "accelerate launch" in card.text and f"--hub_card_template {name}" in card.text
    # A release run renders the same card with its own numbers filled in.
    config = MGMVideoMAEConfig.from_preset("tiny", masking={"name": "tube", "mask_ratio": 0.9})
    rendered = render_card(name, run_values({"seed": 1}, {"train_loss": 0.4242}, config))
    assert "0.4242" in rendered and "${" not in rendered
    assert ModelCard(rendered).data.eval_results[0].metric_value == data.eval_results[0].metric_value
