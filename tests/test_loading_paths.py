"""Every way of loading a saved MGMVideoMAE gives the same tensors and outputs, and a pretraining
checkpoint becomes the papers' classifier through ``AutoModelForVideoClassification``.

The paths: ``MGMVideoMAE.from_pretrained``; the Auto classes in a fresh process after only
``import mgm_hf``; the Auto classes with ``trust_remote_code=True`` in a fresh process where mgm_hf
cannot be imported (offline, from the checkpoint folder). The weights are random and non-zero
(attention biases included), so a dropped or renamed tensor shows. Two file layouts: the one
``save_pretrained`` writes now, and ``q_bias``/``v_bias`` (transformers 4's VideoMAE layout, which
mgm_hf checkpoints had before and MCG-NJU checkpoints have).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForVideoClassification, VideoMAEForVideoClassification

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.models.transfer import classifier_from_pretrained

TINY = dict(
    image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
    num_attention_heads=2, intermediate_size=64, decoder_hidden_size=16, decoder_num_hidden_layers=1,
    decoder_num_attention_heads=2, decoder_intermediate_size=32, use_mean_pooling=False, layer_norm_eps=1e-6,
)
SEQ_LENGTH = (4 // 2) * (32 // 8) ** 2
LAYOUTS = ("as_saved", "q_bias")
LABELS = {0: "left", 1: "right", 2: "still"}

# Run in a fresh interpreter: argv = mode ("import_mgm_hf" | "no_mgm_hf"), output folder, checkpoint folders.
# For each folder it writes the pretraining model's state_dict + logits, the classifier's encoder + its
# last hidden state, the saved classifier, and a JSON file of what it saw (with the traceback of a failed step).
LOADER = textwrap.dedent(
    """
    import json, sys, traceback
    mode, out, folders = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == "no_mgm_hf":
        sys.modules["mgm_hf"] = None  # `import mgm_hf` now raises ModuleNotFoundError
    else:
        import mgm_hf  # noqa: F401  (the only mgm_hf line: registration must come with the import)
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoConfig, AutoModelForPreTraining, AutoModelForVideoClassification
    remote = {"trust_remote_code": True} if mode == "no_mgm_hf" else {}
    inputs = load_file(f"{out}/inputs.safetensors")
    name = lambda obj: type(obj).__module__ + "." + type(obj).__name__

    def load_pretraining(folder, i, seen):
        seen["config"] = name(AutoConfig.from_pretrained(folder, **remote))
        model, info = AutoModelForPreTraining.from_pretrained(folder, output_loading_info=True, **remote)
        seen.update(model=name(model), missing=sorted(info["missing_keys"]), unexpected=sorted(info["unexpected_keys"]))
        with torch.no_grad():
            logits = model.eval()(inputs["pixels"], bool_masked_pos=inputs["mask"]).logits
        save_file({**model.state_dict(), "LOGITS": logits}, f"{out}/pretraining-{i}.safetensors")
        try:
            model(inputs["pixels"])
            seen["no_mask"] = "made a mask"
        except ImportError as error:
            seen["no_mask"] = str(error)

    def load_classifier(folder, i, seen):
        classifier, info = AutoModelForVideoClassification.from_pretrained(
            folder, id2label={0: "left", 1: "right", 2: "still"}, output_loading_info=True, **remote
        )
        seen.update(classifier=name(classifier), classifier_missing=sorted(info["missing_keys"]))
        with torch.no_grad():
            hidden = classifier.eval().videomae(inputs["pixels"]).last_hidden_state
        save_file({**classifier.videomae.state_dict(), "HIDDEN": hidden}, f"{out}/classifier-{i}.safetensors")
        classifier.save_pretrained(f"{out}/finetuned-{i}")

    for i, folder in enumerate(folders):
        seen = {}
        for step in (load_pretraining, load_classifier):
            try:
                step(folder, i, seen)
            except Exception:
                seen[step.__name__ + "_error"] = traceback.format_exc()[-1500:]
        with open(f"{out}/result-{i}.json", "w") as f:
            json.dump(seen, f)
    """
)


def randomised_model() -> MGMVideoMAE:
    """A tiny model whose every parameter is seeded N(0, 0.1²), as after training: no zero biases."""
    model = MGMVideoMAE(MGMVideoMAEConfig(**TINY, masking={"name": "tube", "mask_ratio": 0.75}))
    generator = torch.Generator().manual_seed(8)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
    return model.eval()


def rewrite_to_q_bias_layout(folder: Path) -> None:
    """Renames ``attention.attention.{query,value}.bias`` to ``q_bias``/``v_bias`` in the saved weights."""
    state = load_file(folder / "model.safetensors")
    old = {}
    for key, value in state.items():
        key = key.replace("attention.attention.query.bias", "attention.attention.q_bias")
        old[key.replace("attention.attention.value.bias", "attention.attention.v_bias")] = value
    save_file(old, folder / "model.safetensors", metadata={"format": "pt"})


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The randomised model saved in both layouts, its reference outputs, and what two fresh
    processes loaded from them."""
    root = tmp_path_factory.mktemp("loading")
    model = randomised_model()
    biases = [p for name, p in model.named_parameters() if name.endswith(("query.bias", "value.bias"))]
    assert len(biases) == 2 * (TINY["num_hidden_layers"] + TINY["decoder_num_hidden_layers"])
    assert all(bool((bias != 0).all()) for bias in biases)
    folders = {layout: root / layout for layout in LAYOUTS}
    for folder in folders.values():
        model.save_pretrained(folder)
    rewrite_to_q_bias_layout(folders["q_bias"])
    assert any(k.endswith("q_bias") for k in load_file(folders["q_bias"] / "model.safetensors"))

    pixels = torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    mask = (torch.arange(SEQ_LENGTH) % 3 == 0).repeat(2, 1)
    with torch.no_grad():
        logits = model(pixels, bool_masked_pos=mask).logits
        # The classifier's encoder output: the pretraining encoder without its final layernorm.
        hidden = model.videomae.encoder(model.videomae.embeddings(pixels, None)).last_hidden_state
    runs = {}
    for mode in ("import_mgm_hf", "no_mgm_hf"):
        out = root / mode
        out.mkdir()
        save_file({"pixels": pixels, "mask": mask}, out / "inputs.safetensors")
        env = {**os.environ, "HF_HOME": str(root / "hf_home"), "HF_HUB_OFFLINE": "1"}
        result = subprocess.run(
            [sys.executable, "-c", LOADER, mode, str(out), *map(str, folders.values())],
            capture_output=True, text=True, env=env, timeout=300, cwd=root,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        results = {layout: json.loads((out / f"result-{i}.json").read_text()) for i, layout in enumerate(LAYOUTS)}
        runs[mode] = {"out": out, "stderr": result.stderr, "results": results}
    return {"model": model, "folders": folders, "pixels": pixels, "mask": mask, "logits": logits,
            "hidden": hidden, "runs": runs}


def assert_same_tensors(loaded: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    assert sorted(loaded) == sorted(reference)
    for key, value in reference.items():
        assert torch.equal(loaded[key], value), key


def encoder_tensors(model: MGMVideoMAE) -> dict[str, torch.Tensor]:
    """The pretraining encoder's tensors that a classifier takes over (all but the final layernorm)."""
    return {k: v for k, v in model.videomae.state_dict().items() if not k.startswith("layernorm.")}


def test_saved_weights_keep_the_model_names(saved: dict) -> None:
    """The file loads the same whether or not a renaming is registered."""
    on_disk = load_file(saved["folders"]["as_saved"] / "model.safetensors")
    assert_same_tensors(on_disk, saved["model"].state_dict())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_mgm_videomae_from_pretrained(saved: dict, layout: str) -> None:
    loaded, info = MGMVideoMAE.from_pretrained(saved["folders"][layout], output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert_same_tensors(loaded.state_dict(), saved["model"].state_dict())
    with torch.no_grad():
        logits = loaded.eval()(saved["pixels"], bool_masked_pos=saved["mask"]).logits
    assert torch.equal(logits, saved["logits"])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode", ["import_mgm_hf", "no_mgm_hf"])
def test_auto_classes_in_a_fresh_process(saved: dict, mode: str, layout: str) -> None:
    """(b) after only ``import mgm_hf``; (c) ``trust_remote_code=True`` where mgm_hf cannot be imported."""
    run = saved["runs"][mode]
    result = run["results"][layout]
    assert "load_pretraining_error" not in result, result["load_pretraining_error"]
    package = "mgm_hf.models." if mode == "import_mgm_hf" else "transformers_modules."
    assert result["config"].startswith(package) and result["config"].endswith(".MGMVideoMAEConfig")
    assert result["model"].startswith(package) and result["model"].endswith(".MGMVideoMAE")
    assert result["missing"] == [] and result["unexpected"] == []
    assert "MISSING" not in run["stderr"] and "UNEXPECTED" not in run["stderr"]
    loaded = load_file(run["out"] / f"pretraining-{LAYOUTS.index(layout)}.safetensors")
    assert torch.equal(loaded.pop("LOGITS"), saved["logits"])
    assert_same_tensors(loaded, saved["model"].state_dict())
    if mode == "no_mgm_hf":  # it still runs with a given mask and says how to get masks made
        assert "pip install mgm_hf" in result["no_mask"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode", ["import_mgm_hf", "no_mgm_hf"])
def test_auto_classifier_in_a_fresh_process(saved: dict, mode: str, layout: str) -> None:
    """The papers' classifier with the pretrained encoder; saved, it is a plain VideoMAE classifier."""
    run = saved["runs"][mode]
    result = run["results"][layout]
    index = LAYOUTS.index(layout)
    assert "load_classifier_error" not in result, result["load_classifier_error"]
    assert result["classifier"] == "transformers.models.videomae.modeling_videomae.VideoMAEForVideoClassification"
    assert not [k for k in result["classifier_missing"] if k.startswith("videomae.")]
    loaded = load_file(run["out"] / f"classifier-{index}.safetensors")
    assert torch.equal(loaded.pop("HIDDEN"), saved["hidden"])
    assert_same_tensors(loaded, encoder_tensors(saved["model"]))
    finetuned = run["out"] / f"finetuned-{index}"
    config = json.loads((finetuned / "config.json").read_text())
    assert config["model_type"] == "videomae" and "auto_map" not in config and "masking" not in config
    assert (config["use_mean_pooling"], config["layer_norm_eps"]) == (True, 1e-6)
    assert config["id2label"] == {str(k): v for k, v in LABELS.items()}
    assert not list(finetuned.glob("*.py"))


def test_auto_classifier_is_classifier_from_pretrained(saved: dict) -> None:
    folder = saved["folders"]["as_saved"]
    auto = AutoModelForVideoClassification.from_pretrained(folder, id2label=LABELS)
    reference = classifier_from_pretrained(str(folder), LABELS)
    assert type(auto) is type(reference) is VideoMAEForVideoClassification
    assert auto.videomae.layernorm is None and auto.config.use_mean_pooling  # mean pooling + fc_norm
    assert auto.config.to_dict() == reference.config.to_dict()
    assert auto.config.label2id == {v: k for k, v in LABELS.items()}
    assert_same_tensors(auto.videomae.state_dict(), encoder_tensors(saved["model"]))
    assert_same_tensors(reference.videomae.state_dict(), encoder_tensors(saved["model"]))


@pytest.mark.parametrize("loader", [AutoModelForVideoClassification, VideoMAEForVideoClassification])
def test_finetuned_classifier_reloads(saved: dict, tmp_path: Path, loader: type) -> None:
    classifier = AutoModelForVideoClassification.from_pretrained(saved["folders"]["as_saved"], id2label=LABELS).eval()
    classifier.save_pretrained(tmp_path)
    reloaded, info = loader.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert type(reloaded) is VideoMAEForVideoClassification
    assert_same_tensors(reloaded.state_dict(), classifier.state_dict())
    with torch.no_grad():
        assert torch.equal(reloaded.eval()(saved["pixels"]).logits, classifier(saved["pixels"]).logits)


def test_classifier_from_a_checkpoint_without_encoder_weights_raises(saved: dict, tmp_path: Path) -> None:
    state = load_file(saved["folders"]["as_saved"] / "model.safetensors")
    del state["videomae.encoder.layer.1.output.dense.weight"]
    saved["model"].config.save_pretrained(tmp_path)
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"layer\.1\.output\.dense\.weight"):
        AutoModelForVideoClassification.from_pretrained(tmp_path, id2label=LABELS)
