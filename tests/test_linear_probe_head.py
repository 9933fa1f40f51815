"""``examples/linear_probe.py`` saves its head as safetensors: the file holds the trained head (it
gives the reported validation top-1 on the encoder's features again) and names its encoder and classes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.data import list_videos
from mgm_hf.training.classifier_eval import topk_accuracy
from mgm_hf.training.data import eval_view_transform

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = ["--builtin_train_per_class", "3", "--builtin_validation_per_class", "1", "--builtin_num_frames", "16",
           "--builtin_size", "32"]


def example(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_probe_head_is_saved_as_safetensors_and_reproduces_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGM_HF_CACHE", str(tmp_path / "cache"))
    config = MGMVideoMAEConfig.from_preset("tiny", image_size=32, num_frames=4, masking={"name": "tube", "mask_ratio": 0.75})
    torch.manual_seed(0)
    MGMVideoMAE(config).save_pretrained(tmp_path / "pretrained")
    out = tmp_path / "probe"
    example("linear_probe").main([*BUILTIN, "--model_name_or_path", str(tmp_path / "pretrained"), "--output_dir",
                                  str(out), "--probe_epochs", "3"])
    assert not list(out.glob("*.pt")) and (out / "linear_head.safetensors").is_file()

    root = next((tmp_path / "cache").glob("*/manifest.json")).parent
    with safe_open(str(out / "linear_head.safetensors"), "pt") as f:
        metadata = f.metadata()
    classes = list_videos("videofolder", str(root), "train")[1]
    assert metadata["encoder"] == str(tmp_path / "pretrained")
    assert json.loads(metadata["id2label"]) == {str(i): name for i, name in enumerate(classes)}

    dim = config.hidden_size
    head = torch.nn.Sequential(torch.nn.BatchNorm1d(dim, affine=False), torch.nn.Linear(dim, len(classes)))
    head.load_state_dict(load_file(str(out / "linear_head.safetensors")))  # strict: exactly the head's tensors
    head.eval()
    encoder = MGMVideoMAE.from_pretrained(tmp_path / "pretrained").videomae.eval()
    transform = eval_view_transform(32, 4, 2)  # the probe's default stride
    reported = json.loads((out / "probe_results.json").read_text())
    for split in ("train", "validation"):
        videos = list_videos("videofolder", str(root), split)[0]
        with torch.no_grad():
            features = torch.cat([encoder(pixel_values=transform.process(v.path)["pixel_values"])
                                  .last_hidden_state.mean(1) for v in videos])
            accuracy = topk_accuracy(head(features), torch.tensor([v.label for v in videos]))
        assert accuracy == pytest.approx(reported[split], abs=1e-6), split
