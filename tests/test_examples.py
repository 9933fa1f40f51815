"""The example scripts, run for real through ``accelerate launch`` on the tiny model and a tiny
built-in dataset (like accelerate's own test_examples): pretrain, exact resume, a 2-process CPU
data-parallel run, finetune, linear probe, multi-view evaluation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# 6 classes × 3 train / 1 validation clips of 16 frames at 32×32 px; the model sees 4 frames.
BUILTIN = ["--builtin_train_per_class", "3", "--builtin_validation_per_class", "1", "--builtin_num_frames", "16",
           "--builtin_size", "32", "--report_to", "none"]
DATA = [*BUILTIN, "--image_size", "32", "--num_frames", "4"]
PRETRAIN = [*DATA, "--per_device_batch_size", "4", "--max_train_steps", "6", "--picture_steps", "0"]


def launch(script: str, args: list[str], env: dict[str, str], config_file: str | None = None) -> str:
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if config_file is None:
        cmd += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--num_processes", "1"]
    else:
        cmd += ["--config_file", str(EXAMPLES / "accelerate_configs" / config_file)]
    result = subprocess.run([*cmd, str(EXAMPLES / script), *args], env=env, capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result.stdout + result.stderr


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cache = tmp_path_factory.mktemp("mgm_cache")
    return {**os.environ, "MGM_HF_CACHE": str(cache), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT / "src")}


@pytest.fixture(scope="module")
def pretrained(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted 6-step pretraining run with a checkpoint every 2 steps."""
    out = tmp_path_factory.mktemp("runs") / "pretrain"
    launch("pretrain.py", [*PRETRAIN, "--output_dir", str(out), "--checkpointing_steps", "2",
                           "--checkpoints_total_limit", "2", "--picture_steps", "3"], env)
    return out


def test_pretrain_writes_a_loadable_model(pretrained: Path) -> None:
    from mgm_hf import MGMVideoMAE

    log = read_log(pretrained / "train_log.jsonl")
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert all(r["loss"] > 0 for r in log)
    model = MGMVideoMAE.from_pretrained(pretrained)
    assert model.config.masking["name"] == "mgm" and model.config.image_size == 32
    # --checkpoints_total_limit 2 keeps the two newest complete checkpoints.
    assert sorted(p.name for p in pretrained.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-6"]
    assert json.loads((pretrained / "training_args.json").read_text())["masking"] == "mgm"
    # mask/reconstruction pictures every 3 steps (through mgm_hf.visualization)
    assert sorted(p.name for p in (pretrained / "pictures").iterdir()) == ["step-3.png", "step-6.png"]
    assert json.loads((pretrained / "all_results.json").read_text())["pictures_available"] is True


def test_resume_gives_bit_identical_losses(pretrained: Path, env: dict[str, str], tmp_path: Path) -> None:
    # Stop after step 4 (the checkpoint is all that survives), resume with `latest`, run to step 6.
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copytree(pretrained / "checkpoint-4", resumed / "checkpoint-4")
    (resumed / ".tmp-checkpoint-5").mkdir()  # a crashed save: `latest` must skip it
    out = launch("pretrain.py", [*PRETRAIN, "--output_dir", str(resumed), "--resume_from_checkpoint", "latest"], env)
    assert "Resumed from" in out and "checkpoint-4" in out
    uninterrupted = {r["step"]: r["loss"] for r in read_log(pretrained / "train_log.jsonl")}
    after_resume = {r["step"]: r["loss"] for r in read_log(resumed / "train_log.jsonl")}
    assert sorted(after_resume) == [5, 6]
    assert after_resume == {step: uninterrupted[step] for step in (5, 6)}  # exact float equality


def test_two_process_cpu_run_is_one_data_parallel_job(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    launch("pretrain.py", [*DATA, "--per_device_batch_size", "2", "--max_train_steps", "2", "--picture_steps", "0",
                           "--output_dir", str(out), "--rank_log"], env, config_file="cpu_2proc.yaml")
    ranks = [read_log(out / "rank_logs" / f"rank-{r}.jsonl") for r in (0, 1)]
    assert all(rec["world_size"] == 2 for log in ranks for rec in log)
    for step in (0, 1):
        # identical parameters after every step: gradients were all-reduced ...
        assert ranks[0][step]["checksum"] == ranks[1][step]["checksum"]
        # ... over disjoint shards of the data.
        assert not set(ranks[0][step]["sample_index"]) & set(ranks[1][step]["sample_index"])
    assert ranks[0][0]["checksum"] != ranks[0][1]["checksum"]


def test_finetune_probe_and_multiview_evaluation(pretrained: Path, env: dict[str, str], tmp_path: Path) -> None:
    finetuned = tmp_path / "finetune"
    out = launch("finetune.py", [*DATA, "--model_name_or_path", str(pretrained), "--output_dir", str(finetuned),
                                 "--per_device_batch_size", "4", "--max_train_steps", "3",
                                 "--checkpointing_steps", "3"], env)
    assert "validation top1" in out
    results = json.loads((finetuned / "eval_results.json").read_text())["validation"]
    assert results["num_videos"] == 6 and 0.0 <= results["top1"] <= results["top5"] <= 1.0
    assert (finetuned / "checkpoint-3" / "COMPLETE").is_file()

    out = launch("linear_probe.py", [*BUILTIN, "--model_name_or_path", str(pretrained), "--output_dir",
                                     str(tmp_path / "probe"), "--probe_epochs", "5"], env)
    probe = json.loads((tmp_path / "probe" / "probe_results.json").read_text())
    assert 0.0 <= probe["validation"]["top1"] <= 1.0

    out = launch("evaluate.py", [*BUILTIN, "--model_name_or_path", str(finetuned), "--output_dir",
                                 str(tmp_path / "eval"), "--views", "ssv2"], env)
    assert "2×3 views" in out
    evaluated = json.loads((tmp_path / "eval" / "eval_results.json").read_text())
    assert evaluated["num_videos"] == 6 and evaluated["temporal_views"] == 2 and evaluated["spatial_crops"] == 3


@pytest.mark.parametrize("name", ["cpu_2proc", "multi_gpu", "multi_node", "fsdp", "deepspeed_zero2"])
def test_accelerate_configs_parse(name: str) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    config = ClusterConfig.from_yaml_file(str(EXAMPLES / "accelerate_configs" / f"{name}.yaml"))
    assert config.num_processes >= 2
    if name == "fsdp":
        assert config.fsdp_config["fsdp_transformer_layer_cls_to_wrap"] == "VideoMAELayer"
        assert config.fsdp_config["fsdp_use_orig_params"] is True  # our per-parameter AdamW groups
