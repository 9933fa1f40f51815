"""The ``mgm-hf`` console script: --version, env, and snake_case options with the old kebab-case
spellings kept as deprecated aliases."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy
import pytest
import torch

from mgm_hf.cli import main, snake_case_options
from mgm_hf.data.prepare import add_arguments as prepare_arguments
from mgm_hf.video import write_moving_square_video

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
REPORT_KEYS = {
    "mgm_hf", "python", "platform", "torch", "transformers", "accelerate", "datasets", "huggingface_hub",
    "av (PyAV)", "FFmpeg", "opencv", "numpy", "numba", "h264 motion vectors", "h264 decoders", "hevc decoders",
    "vp9 decoders", "av1 decoders", "mpeg4 decoders",
}


@pytest.fixture(scope="module")
def square_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "square.mp4"
    write_moving_square_video(path, num_frames=12, size=(64, 64), square_size=16, velocity=(3.0, 0.0),
                              options={"bf": "0", "refs": "1"})
    return path


def test_version_of_the_installed_entry_point() -> None:
    """``mgm-hf --version`` prints the version pyproject.toml declares."""
    entry_point = Path(sys.executable).parent / "mgm-hf"
    assert entry_point.exists(), "the package is not installed (pip install -e .)"
    done = subprocess.run([str(entry_point), "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    version = re.search(r'^version = "([^"]+)"', PYPROJECT.read_text(), re.MULTILINE).group(1)
    assert done.stdout.strip() == f"mgm-hf {version}"


def test_env_reports_versions_and_probes_motion_vectors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env"]) == 0
    lines = [line[2:] for line in capsys.readouterr().out.splitlines() if line.startswith("- ")]
    report = dict(line.split(": ", 1) for line in lines)
    assert set(report) >= REPORT_KEYS
    assert report["torch"].startswith(f"{torch.__version__} (CUDA available: {torch.cuda.is_available()}")
    assert report["av (PyAV)"] == av.__version__ and report["numpy"] == numpy.__version__
    assert report["python"] == ".".join(map(str, sys.version_info[:3]))
    assert report["FFmpeg"].startswith(str(av.ffmpeg_version_info)) and "libavcodec" in report["FFmpeg"]
    # This PyAV encodes H.264 (the tests' videos are made with it) and exports its vectors.
    assert report["h264 motion vectors"].startswith("yes")
    assert report["h264 decoders"].split(",")[0].split(" ")[0] == "h264"  # FFmpeg's own decoder first


def test_kebab_case_aliases_still_work_and_warn(square_video: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               caplog: pytest.LogCaptureFixture) -> None:
    common = ["visualize", str(square_video), "--strategy", "tube", "--size", "64", "--stride", "1"]
    assert main([*common, "--out", str(tmp_path / "new.png"), "--num_frames", "8", "--patch_size", "8",
                 "--mask_ratio", "0.75", "--no_arrows"]) == 0
    assert "192/256 tokens masked" in capsys.readouterr().out
    assert "deprecated" not in caplog.text
    with caplog.at_level("WARNING", logger="mgm_hf.cli"):
        assert main([*common, "--out", str(tmp_path / "old.png"), "--num-frames", "8", "--patch-size=8",
                     "--mask-ratio", "0.75", "--no-arrows"]) == 0
    out = capsys.readouterr().out
    assert "192/256 tokens masked" in out and "motion (arrows)" not in out
    for old, new in (("--num-frames", "--num_frames"), ("--patch-size", "--patch_size"),
                     ("--mask-ratio", "--mask_ratio"), ("--no-arrows", "--no_arrows")):
        assert any(old in r.message and new in r.message and r.levelname == "WARNING" for r in caplog.records), old


def test_prepare_options_are_snake_case_with_kebab_aliases() -> None:
    parser = argparse.ArgumentParser()
    prepare_arguments(parser)
    new = parser.parse_args(["in", "out", "--exact_motion", "--gop_seconds", "1.5", "--no_copy_other",
                             "--short_side", "128", "--frame_tolerance", "3"])
    old = parser.parse_args(snake_case_options(parser, ["in", "out", "--exact-motion", "--gop-seconds=1.5",
                                                        "--no-copy-other", "--short-side", "128",
                                                        "--frame-tolerance", "3"]))
    assert new == old
    assert (new.exact_motion, new.gop_seconds, new.copy_other, new.short_side, new.frame_tolerance) == \
        (True, 1.5, False, 128, 3)
    assert "--exact_motion" in parser.format_help() and "--exact-motion" not in parser.format_help()


def test_unknown_options_are_still_errors(square_video: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["visualize", str(square_video), "--out", str(tmp_path / "x.png"), "--no-such-option", "1"])
    assert exit_info.value.code == 2
    # After "--" nothing is rewritten: argparse sees the token as it was given.
    parser = argparse.ArgumentParser()
    parser.add_argument("--mask_ratio")
    assert snake_case_options(parser, ["--mask-ratio", "1", "--", "--mask-ratio"]) == \
        ["--mask_ratio", "1", "--", "--mask-ratio"]
