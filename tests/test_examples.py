"""The example scripts, run for real through ``accelerate launch`` on the tiny model and a tiny
built-in dataset (like accelerate's own test_examples): pretrain, exact resume with true run records,
a 2-process CPU data-parallel run, finetune, linear probe, multi-view evaluation on a dataset with
broken files, what a run says about its tracker and its outputs. Checks that stop a script before it
trains call the script's ``main`` in this process (no launch needed)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# 6 classes × 3 train / 1 validation clips of 16 frames at 32×32 px; the model sees 4 frames.
BUILTIN = ["--builtin_train_per_class", "3", "--builtin_validation_per_class", "1", "--builtin_num_frames", "16",
           "--builtin_size", "32"]
DATA = [*BUILTIN, "--image_size", "32", "--num_frames", "4"]
PRETRAIN = [*DATA, "--per_device_batch_size", "4", "--max_train_steps", "6", "--picture_steps", "0",
            "--report_to", "none"]


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


def example(name: str) -> ModuleType:
    """``examples/<name>.py`` as a module (``main(argv)``, ``parse_args(argv)``), under a name that
    shadows nothing (``example_<name>``)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class Run(NamedTuple):
    path: Path
    output: str  # stdout + stderr of the launch


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cache = tmp_path_factory.mktemp("mgm_cache")
    return {**os.environ, "MGM_HF_CACHE": str(cache), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT / "src")}


@pytest.fixture
def in_process(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """For ``example(...).main`` in this process: the module's dataset cache."""
    monkeypatch.setenv("MGM_HF_CACHE", env["MGM_HF_CACHE"])


@pytest.fixture(scope="module")
def pretrained(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Run:
    """An uninterrupted 6-step pretraining run with a checkpoint every 2 steps."""
    out = tmp_path_factory.mktemp("runs") / "pretrain"
    output = launch("pretrain.py", [*PRETRAIN, "--output_dir", str(out), "--checkpointing_steps", "2",
                                    "--checkpoints_total_limit", "2", "--picture_steps", "3"], env)
    return Run(out, output)


@pytest.fixture(scope="module")
def flaky_dataset(pretrained: Run, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in dataset as a ``videofolder`` plus 2 train and 1 validation files that are not videos."""
    from mgm_hf.data.builtin_motion import builtin_motion_dataset
    from mgm_hf.training.runtime.args import add_data_args, builtin_spec_from_args

    parser = argparse.ArgumentParser()
    add_data_args(parser)
    source = builtin_motion_dataset(builtin_spec_from_args(parser.parse_args(BUILTIN)), env["MGM_HF_CACHE"])
    root = tmp_path_factory.mktemp("flaky") / "data"
    shutil.copytree(source, root)
    for relative in ("train/static/broken_a.mp4", "train/moving_left/broken_b.mp4", "validation/static/broken_c.mp4"):
        (root / relative).write_bytes(b"not a video at all" * 64)
    return root


def test_pretrain_writes_a_loadable_model_and_says_where(pretrained: Run) -> None:
    from mgm_hf import MGMVideoMAE

    out = pretrained.path
    log = read_log(out / "train_log.jsonl")
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert all(r["loss"] > 0 for r in log)
    model = MGMVideoMAE.from_pretrained(out)
    assert model.config.masking["name"] == "mgm" and model.config.image_size == 32
    # --checkpoints_total_limit 2 keeps the two newest complete checkpoints.
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-6"]
    assert json.loads((out / "training_args.json").read_text())["masking"] == "mgm"
    # mask/reconstruction pictures every 3 steps (through mgm_hf.visualization)
    assert sorted(p.name for p in (out / "pictures").iterdir()) == ["step-3.png", "step-6.png"]
    results = json.loads((out / "all_results.json").read_text())
    assert results["pictures_available"] is True and results["first_step_loss"] == log[0]["loss"]
    # The closing lines: where everything went and what to run next.
    assert f"Outputs in {out}:" in pretrained.output and "model.safetensors" in pretrained.output
    assert f"examples/finetune.py --model_name_or_path {out} --output_dir {out}_finetune" in pretrained.output


def test_resume_gives_bit_identical_losses_and_true_records(pretrained: Run, env: dict[str, str],
                                                            tmp_path: Path) -> None:
    # The run got to step 6 (its log and pictures say so) but only checkpoint-4 survived; a crashed
    # save of step 5 is left over. Resume with `latest` and run to step 6 again.
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copytree(pretrained.path / "checkpoint-4", resumed / "checkpoint-4")
    shutil.copy(pretrained.path / "train_log.jsonl", resumed / "train_log.jsonl")
    shutil.copytree(pretrained.path / "pictures", resumed / "pictures")
    (resumed / ".tmp-checkpoint-5").mkdir()  # a crashed save: `latest` must skip it
    out = launch("pretrain.py", [*PRETRAIN, "--output_dir", str(resumed), "--resume_from_checkpoint", "latest"], env)
    assert "Resumed from" in out and "checkpoint-4" in out
    uninterrupted = read_log(pretrained.path / "train_log.jsonl")
    after_resume = read_log(resumed / "train_log.jsonl")
    assert [r["step"] for r in after_resume] == [1, 2, 3, 4, 5, 6]  # every step once
    assert after_resume == uninterrupted  # steps 5, 6 recomputed: exact float equality
    results = json.loads((resumed / "all_results.json").read_text())
    assert results["first_step_loss"] == uninterrupted[0]["loss"]  # the original run's first loss
    assert results["resumed_from_step"] == 4
    # The step-6 picture of the abandoned steps is gone; no picture was drawn after the resume.
    assert sorted(p.name for p in (resumed / "pictures").iterdir()) == ["step-3.png"]


def test_two_process_cpu_run_is_one_data_parallel_job(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    launch("pretrain.py", [*DATA, "--per_device_batch_size", "2", "--max_train_steps", "2", "--picture_steps", "0",
                           "--report_to", "none", "--output_dir", str(out), "--rank_log"], env,
           config_file="cpu_2proc.yaml")
    ranks = [read_log(out / "rank_logs" / f"rank-{r}.jsonl") for r in (0, 1)]
    assert all(rec["world_size"] == 2 for log in ranks for rec in log)
    for step in (0, 1):
        # identical parameters after every step: gradients were all-reduced ...
        assert ranks[0][step]["checksum"] == ranks[1][step]["checksum"]
        # ... over disjoint shards of the data.
        assert not set(ranks[0][step]["sample_index"]) & set(ranks[1][step]["sample_index"])
    assert ranks[0][0]["checksum"] != ranks[0][1]["checksum"]
    # --picture_steps 0 drew nothing, so the record must not claim pictures.
    assert json.loads((out / "all_results.json").read_text())["pictures_available"] is False


def test_finetune_probe_and_evaluation_skip_broken_files_up_to_max_failure_rate(
    pretrained: Run, flaky_dataset: Path, env: dict[str, str], tmp_path: Path
) -> None:
    # 3 of 27 files are not videos (11%): more than the default 5%, within --max_failure_rate 0.5.
    data = ["--dataset_name", "videofolder", "--dataset_root", str(flaky_dataset), "--max_failure_rate", "0.5"]
    finetuned = tmp_path / "finetune"
    out = launch("finetune.py", [*data, "--image_size", "32", "--num_frames", "4", "--model_name_or_path",
                                 str(pretrained.path), "--output_dir", str(finetuned), "--per_device_batch_size", "4",
                                 "--max_train_steps", "3", "--checkpointing_steps", "3", "--report_to", "none",
                                 "--frame_stride", "1"], env)
    assert "validation top1" in out and f"examples/multiview_eval.py --model_name_or_path {finetuned}" in out
    results = json.loads((finetuned / "eval_results.json").read_text())["validation"]
    assert results["num_videos"] == 6 and 0.0 <= results["top1"] <= results["top5"] <= 1.0
    assert (finetuned / "checkpoint-3" / "COMPLETE").is_file()

    # The probe reads all 27 files through one transform: past the 20 files after which the share is checked.
    probe = launch("linear_probe.py", [*data, "--model_name_or_path", str(pretrained.path), "--output_dir",
                                       str(tmp_path / "probe"), "--probe_epochs", "5"], env)
    results = json.loads((tmp_path / "probe" / "probe_results.json").read_text())
    assert 0.0 <= results["validation"]["top1"] <= 1.0
    assert "Skipping video" in probe and "broken_a.mp4" in probe

    evaluated = launch("multiview_eval.py", [*data, "--model_name_or_path", str(finetuned), "--output_dir",
                                       str(tmp_path / "eval"), "--views", "ssv2"], env)
    assert "2×3 views" in evaluated and f"Outputs in {tmp_path / 'eval'}:" in evaluated
    results = json.loads((tmp_path / "eval" / "eval_results.json").read_text())
    assert results["num_videos"] == 6 and results["temporal_views"] == 2 and results["spatial_crops"] == 3
    assert results["frame_stride"] == 1  # the stride the classifier was fine-tuned with, not the flag's old default 2
    for output in (out, probe, evaluated):  # a successful run shows no exception text
        assert "FileNotFoundError" not in output and "Traceback" not in output


def test_every_video_script_takes_max_failure_rate() -> None:
    for name in ("pretrain", "finetune", "linear_probe", "multiview_eval"):
        assert example(name).parse_args(["--max_failure_rate", "0.25"]).max_failure_rate == 0.25


@pytest.fixture(scope="module")
def overwritten(pretrained: Run, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A 2-step tube run with --overwrite_output_dir into a copy of the finished mgm run, with the default
    tracker and, as after the plain install, without the tensorboard package (hidden from the run)."""
    folder = tmp_path_factory.mktemp("overwrite") / "finished"
    shutil.copytree(pretrained.path, folder)
    hide = tmp_path_factory.mktemp("hide_tensorboard")
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['tensorboard'] = None  # as if not installed\n")
    output = launch("pretrain.py", [*DATA, "--per_device_batch_size", "4", "--max_train_steps", "2", "--picture_steps",
                                    "2", "--masking", "tube", "--output_dir", str(folder), "--overwrite_output_dir"],
                    {**env, "PYTHONPATH": f"{hide}{os.pathsep}{env['PYTHONPATH']}"})
    return Run(folder, output)


def test_second_run_into_a_finished_run_is_refused_unless_overwritten(
    pretrained: Run, overwritten: Run, tmp_path: Path, in_process: None
) -> None:
    folder = tmp_path / "finished"
    shutil.copytree(pretrained.path, folder)
    weights = (folder / "model.safetensors").read_bytes()
    with pytest.raises(FileExistsError, match="already holds a run") as refused:  # OutputDirInUseError
        example("pretrain").main([*PRETRAIN, "--output_dir", str(folder), "--masking", "tube"])
    assert "--overwrite_output_dir" in str(refused.value) and "--resume_from_checkpoint latest" in str(refused.value)
    assert (folder / "model.safetensors").read_bytes() == weights
    assert len(read_log(folder / "train_log.jsonl")) == 6

    # With --overwrite_output_dir the old run is replaced, not mixed into the new one.
    replaced = overwritten.path
    assert [r["step"] for r in read_log(replaced / "train_log.jsonl")] == [1, 2]  # not appended to the old log
    assert not list(replaced.glob("checkpoint-*"))  # the old run's checkpoints are gone
    assert sorted(p.name for p in (replaced / "pictures").iterdir()) == ["step-2.png"]
    assert json.loads((replaced / "config.json").read_text())["masking"]["name"] == "tube"


def test_resume_with_other_settings_is_refused_and_lists_them(
    pretrained: Run, tmp_path: Path, in_process: None
) -> None:
    folder = tmp_path / "resume_other"
    folder.mkdir()
    shutil.copytree(pretrained.path / "checkpoint-4", folder / "checkpoint-4")
    with pytest.raises(ValueError, match="Cannot resume from") as refused:  # ResumeMismatchError
        example("pretrain").main([*PRETRAIN, "--output_dir", str(folder), "--resume_from_checkpoint", "latest",
                                  "--masking", "tube", "--mask_ratio", "0.75", "--max_train_steps", "8"])
    message = str(refused.value)
    for line in ('model.masking.name: checkpoint "mgm", this run "tube"',
                 "model.masking.mask_ratio: checkpoint 0.9, this run 0.75",
                 "schedule.max_steps: checkpoint 6, this run 8"):
        assert line in message
    assert not (folder / "train_log.jsonl").exists()  # nothing ran


def test_a_run_says_what_it_tracks(overwritten: Run, tmp_path: Path, in_process: None) -> None:
    """The default tracker works with the plain install (tensorboardX; the run had no tensorboard
    package): it logs losses and pictures and says where, and how to view them."""
    tomllib = pytest.importorskip("tomllib")
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"tensorboardX\b", dep) for dep in dependencies)  # in the plain install
    logs = overwritten.path / "logs"
    assert f"Tracking with TensorBoard in {logs / 'mgm_pretrain'}" in overwritten.output
    assert f"pip install tensorboard, then tensorboard --logdir {logs}" in overwritten.output
    events = tensorboard_events(logs / "mgm_pretrain")
    assert sorted(step for tag, step in events if tag == "train/loss") == [1, 2]
    assert ("pretrain/reconstruction", 2) in events  # the picture reached TensorBoard

    if importlib.util.find_spec("trackio") is None:  # asked for, not installed: an error, not silence
        with pytest.raises(ImportError, match="pip install trackio"):  # TrackerUnavailableError
            example("pretrain").main([*DATA, "--output_dir", str(tmp_path / "trackio"), "--report_to", "trackio"])


def tensorboard_events(folder: Path) -> set[tuple[str, int]]:
    """``(tag, step)`` of every scalar and image summary in the event files below ``folder``
    (TFRecord framing: length u64, its crc u32, the Event proto, its crc u32)."""
    from tensorboardX.proto.event_pb2 import Event

    found = set()
    for path in folder.rglob("events.out.tfevents.*"):
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            event = Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            found |= {(value.tag, event.step) for value in event.summary.value}
    return found


def test_missing_model_folder_and_non_classifier_are_named(
    pretrained: Run, tmp_path: Path, in_process: None, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "not_written_yet")
    # pretrain: `latest` in a folder without checkpoints warns (then it would start fresh), and a
    # --model_name_or_path folder that does not exist is named as such, not as a Hub connection error.
    with pytest.raises(FileNotFoundError, match="no such folder"):
        example("pretrain").main([*PRETRAIN, "--output_dir", str(tmp_path / "fresh"), "--resume_from_checkpoint",
                                  "latest", "--model_name_or_path", missing])
    assert any(r.levelname == "WARNING" and "no complete checkpoint in" in r.getMessage() for r in caplog.records)
    for name in ("finetune", "linear_probe", "multiview_eval"):
        with pytest.raises(FileNotFoundError, match="no such folder"):
            example(name).main([*BUILTIN, "--model_name_or_path", missing, "--output_dir", str(tmp_path / name)])
    with pytest.raises(ValueError, match="is not a video classifier"):
        example("multiview_eval").main([*BUILTIN, "--model_name_or_path", str(pretrained.path), "--output_dir",
                                  str(tmp_path / "eval_pretrained")])


def readme_commands() -> list[list[str]]:
    """The example-script commands of the README's set-up and "Training, evaluation, Hub" sections,
    as argument lists after the script path (script name first)."""
    readme = (ROOT / "README.md").read_text()
    sections = readme.split("\n## ")
    wanted = [s for s in sections if s.startswith(("Two commands", "Training, evaluation, Hub"))]
    commands = []
    for section in wanted:
        for block in re.findall(r"```bash\n(.*?)```", section, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                match = re.search(r"examples/(\w+)\.py(.*)", line.split("  #")[0])
                if match and match.group(1) != "convert_checkpoint":
                    commands.append([match.group(1), *shlex.split(match.group(2))])
    return commands


def test_readme_commands_write_to_distinct_folders_and_chain() -> None:
    commands = readme_commands()
    assert len(commands) >= 5
    written: list[str] = []
    for name, *argv in commands:
        args = example(name).parse_args(argv)
        if name != "pretrain" and args.model_name_or_path:
            assert args.model_name_or_path in written, f"{name} reads {args.model_name_or_path}, which no command wrote"
        assert args.output_dir not in written, f"{name} writes into {args.output_dir} again"
        written.append(args.output_dir)


@pytest.mark.parametrize("name", ["cpu_2proc", "multi_gpu", "multi_node", "fsdp", "deepspeed_zero2"])
def test_accelerate_configs_parse(name: str) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    config = ClusterConfig.from_yaml_file(str(EXAMPLES / "accelerate_configs" / f"{name}.yaml"))
    assert config.num_processes >= 2
    if name == "fsdp":
        assert config.fsdp_config["fsdp_transformer_layer_cls_to_wrap"] == "VideoMAELayer"
        assert config.fsdp_config["fsdp_use_orig_params"] is True  # our per-parameter AdamW groups
