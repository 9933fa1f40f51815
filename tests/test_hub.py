"""Hub: offline loading from a real cache layout, and the upload path at ``HfApi``'s boundary, for a
pretraining run folder and for ``examples/finetune.py --push_to_hub``.

The Hub servers are the one thing out of reach, so ``HfApi.create_repo``/``upload_folder`` are
overridden to record their arguments and to copy exactly the files ``upload_folder`` would send
(same ``ignore_patterns`` filtering). Those files are then laid out as a download leaves them in
``$HF_HOME/hub`` and loaded back with ``from_pretrained("org/name")`` (or the video-classification
pipeline) under ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.utils import filter_repo_objects

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.hub import REQUIRED_FILES, push_run_to_hub, save_run_files

ROOT = Path(__file__).resolve().parents[1]
REPO_ID = "mgm-hf/tiny-test"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# The built-in dataset at its smallest (6 classes × 3 train / 1 validation clips of 16 frames, 32 px).
BUILTIN = ["--builtin_train_per_class", "3", "--builtin_validation_per_class", "1", "--builtin_num_frames", "16",
           "--builtin_size", "32"]


def record_upload(api: HfApi, remote: Path, calls: list[tuple[str, dict[str, Any]]], *, repo_id: str,
                  folder_path: str, **kwargs: Any) -> str:
    """What ``HfApi.upload_folder`` does, without the server: records the call and copies the files
    it would send (same allow/ignore filtering) to ``remote``."""
    calls.append(("upload_folder", {"repo_id": repo_id, "folder_path": folder_path, **kwargs}))
    files = sorted(str(p.relative_to(folder_path)) for p in Path(folder_path).rglob("*") if p.is_file())
    for rel in filter_repo_objects(files, allow_patterns=kwargs.get("allow_patterns"),
                                   ignore_patterns=kwargs.get("ignore_patterns")):
        (remote / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(folder_path) / rel, remote / rel)
    return f"https://huggingface.co/{repo_id}/commit/{COMMIT}"


class RecordingApi(HfApi):
    """``HfApi`` whose two server calls record their arguments and copy what would be uploaded."""

    def __init__(self, remote: Path) -> None:
        super().__init__(token=False)
        self.remote = remote
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_repo(self, repo_id: str, **kwargs: Any) -> str:  # type: ignore[override]
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kwargs: Any) -> str:  # type: ignore[override]
        return record_upload(self, self.remote, self.calls, **kwargs)


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
    assert card.data.library_name == "transformers" and "masking-tube" in card.data.tags
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


# ---- examples/finetune.py --push_to_hub ---------------------------------------------------------------
PRETRAINED_ID = "mgm-hf/tiny-pretrained"
FINETUNED_ID = "mgm-hf/tiny-finetuned"
FINETUNE_STRIDE = 3  # not the scripts' default (2): the saved stride must be the one trained with


class FinetunePush(NamedTuple):
    output_dir: Path
    remote: Path  # what upload_folder would have sent
    calls: list[tuple[str, dict[str, Any]]]
    stdout: str
    cache: Path  # MGM_HF_CACHE, with the built-in dataset


def example(name: str) -> ModuleType:
    """``examples/<name>.py`` as a module, under a name that shadows nothing."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def finetune_push(tmp_path_factory: pytest.TempPathFactory) -> FinetunePush:
    """``examples/finetune.py --push_to_hub`` (2 steps on the built-in dataset, in this process) from a tiny
    pretrained folder whose own run was pushed as PRETRAINED_ID; ``HfApi``'s two server calls are
    replaced on the class, so the script's own ``HfApi()`` records and copies instead of uploading."""
    root = tmp_path_factory.mktemp("finetune_push")
    pretrained, remote, calls = root / "pretrained", root / "remote", []
    config = MGMVideoMAEConfig.from_preset("tiny", image_size=32, num_frames=4,
                                           masking={"name": "tube", "mask_ratio": 0.75})
    MGMVideoMAE(config).save_pretrained(pretrained)
    save_run_files(pretrained, {"push_to_hub": True, "hub_model_id": PRETRAINED_ID}, {"train_loss": 1.0}, config)

    def create_repo(self: HfApi, repo_id: str, **kwargs: Any) -> str:
        calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/{repo_id}"

    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout):
        patch.setenv("MGM_HF_CACHE", str(root / "cache"))
        patch.setattr(HfApi, "create_repo", create_repo)
        patch.setattr(HfApi, "upload_folder", lambda self, **kwargs: record_upload(self, remote, calls, **kwargs))
        example("finetune").main([
            *BUILTIN, "--image_size", "32", "--num_frames", "4", "--frame_stride", str(FINETUNE_STRIDE),
            "--model_name_or_path", str(pretrained), "--output_dir", str(root / "finetune"),
            "--per_device_batch_size", "4", "--max_train_steps", "2", "--checkpointing_steps", "2",
            "--report_to", "none", "--push_to_hub", "--hub_model_id", FINETUNED_ID, "--hub_private",
        ])
    return FinetunePush(root / "finetune", remote, calls, stdout.getvalue(), root / "cache")


def test_finetune_push_uploads_the_run_with_a_card_of_its_numbers(finetune_push: FinetunePush) -> None:
    run = finetune_push
    assert [name for name, _ in run.calls] == ["create_repo", "upload_folder"]
    assert run.calls[0][1] == {"repo_id": FINETUNED_ID, "private": True, "exist_ok": True, "repo_type": "model"}
    assert f"Uploaded to the Hub: https://huggingface.co/{FINETUNED_ID}/commit/{COMMIT}" in run.stdout
    uploaded = {str(p.relative_to(run.remote)) for p in run.remote.rglob("*") if p.is_file()}
    assert {*REQUIRED_FILES, "eval_results.json"} <= uploaded
    assert (run.output_dir / "train_log.jsonl").is_file() and (run.output_dir / "checkpoint-2").is_dir()
    assert not any(name.startswith("checkpoint-") or name == "train_log.jsonl" for name in uploaded)

    config = json.loads((run.remote / "config.json").read_text())
    assert config["model_type"] == "videomae" and "auto_map" not in config  # plain transformers
    assert config["frame_stride"] == FINETUNE_STRIDE and config["num_frames"] == 4
    assert len(config["id2label"]) == 6
    assert json.loads((run.remote / "training_args.json").read_text())["hub_model_id"] == FINETUNED_ID

    # The card's model-index carries the numbers of the run's results file.
    measured = json.loads((run.remote / "all_results.json").read_text())["validation"]
    card = ModelCard.load(run.remote / "README.md")
    data = card.data
    assert (data.library_name, data.pipeline_tag, data.base_model) == ("transformers", "video-classification",
                                                                       PRETRAINED_ID)
    assert data.datasets is None  # the built-in dataset is not on the Hub
    values = {r.metric_type: r.metric_value for r in data.eval_results}
    assert values == {"accuracy": measured["top1"], "top_5_accuracy": measured["top5"]}
    assert {(r.task_type, r.dataset_split) for r in data.eval_results} == {("video-classification", "validation")}
    assert data.model_name == "tiny-finetuned"
    assert f'pipeline("video-classification", model="{FINETUNED_ID}", frame_sampling_rate={FINETUNE_STRIDE})' in card.text


def test_pushed_classifier_runs_in_the_video_classification_pipeline_offline(
    finetune_push: FinetunePush, tmp_path: Path
) -> None:
    hf_home = tmp_path / "hf_home"
    lay_out_cache(finetune_push.remote, hf_home, repo_id=FINETUNED_ID)
    video = sorted(finetune_push.cache.rglob("validation/*/*.mp4"))[0]  # a real video of the built-in dataset
    out = load_offline(hf_home, (
        "import json; from transformers import pipeline\n"  # transformers alone, then through mgm_hf
        f"plain = pipeline('video-classification', model={FINETUNED_ID!r}, frame_sampling_rate={FINETUNE_STRIDE})\n"
        f"print(json.dumps(plain({str(video)!r}, top_k=6)))\n"
        "from mgm_hf.hub import video_classification_pipeline\n"
        f"pipe = video_classification_pipeline({FINETUNED_ID!r})\n"
        f"print(json.dumps(pipe({str(video)!r}, top_k=6)))\n"
        "print(json.dumps(pipe._preprocess_params))"
    ))
    plain, through_mgm_hf, params = (json.loads(line) for line in out.strip().splitlines()[-3:])
    labels = set(json.loads((finetune_push.remote / "config.json").read_text())["id2label"].values())
    assert {r["label"] for r in plain} == labels and sum(r["score"] for r in plain) == pytest.approx(1.0, abs=1e-5)
    assert params == {"frame_sampling_rate": FINETUNE_STRIDE}
    assert through_mgm_hf == plain


def test_finetune_push_without_repo_id_stops_before_training(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hub_model_id"):
        example("finetune").main([*BUILTIN, "--model_name_or_path", str(tmp_path / "never_read"),
                                  "--output_dir", str(tmp_path / "out"), "--push_to_hub"])
    assert not (tmp_path / "out").exists()
