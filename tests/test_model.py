"""MGMVideoMAE as a Transformers model: forward/backward, save/load, Auto classes, VideoMAE checkpoints.

Every loading path with trained weights (Auto classes in a fresh process, remote code without mgm_hf)
and the classifier Auto class: tests/test_loading_paths.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForPreTraining, VideoMAEConfig, VideoMAEForPreTraining

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig, available_masking_strategies, build_masking_strategy

TINY = dict(
    image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
    num_attention_heads=2, intermediate_size=64, decoder_hidden_size=16, decoder_num_hidden_layers=1,
    decoder_num_attention_heads=2, decoder_intermediate_size=32,
)
SEQ_LENGTH = (4 // 2) * (32 // 8) ** 2


def tiny_config(**masking) -> MGMVideoMAEConfig:
    return MGMVideoMAEConfig(**TINY, masking={"name": "tube", "mask_ratio": 0.75, **masking})


def blob_motion(batch: int = 2) -> torch.Tensor:
    """(B, T, 4, 4, 2): an 8-px-grid motion map with one moving blob per frame."""
    motion = torch.zeros(batch, 4, 4, 4, 2)
    for t in range(4):
        motion[:, t, 1 + t % 2, 1:3] = torch.tensor([3.0, 0.0])
    return motion


def pixels(batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 4, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", available_masking_strategies())
def test_forward_backward_every_strategy(name: str) -> None:
    torch.manual_seed(0)
    model = MGMVideoMAE(tiny_config(name=name))
    out = model(pixels(), motion=blob_motion(), generator=torch.Generator().manual_seed(1))
    strategy = build_masking_strategy(model.config)
    assert out.bool_masked_pos.shape == (2, SEQ_LENGTH)
    assert out.bool_masked_pos.dtype == torch.bool
    assert (out.bool_masked_pos.sum(1) == strategy.num_masked).all()
    assert out.logits.shape == (2, strategy.num_masked, 2 * 8 * 8 * 3)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads[:5])
    assert model.videomae.embeddings.patch_embeddings.projection.weight.grad.abs().sum() > 0


def test_given_mask_is_used_and_returned() -> None:
    model = MGMVideoMAE(tiny_config()).eval()
    mask = torch.zeros(2, SEQ_LENGTH, dtype=torch.bool)
    mask[:, ::2] = True
    out = model(pixels(), bool_masked_pos=mask)
    assert torch.equal(out.bool_masked_pos, mask)
    reference = VideoMAEForPreTraining(VideoMAEConfig(**TINY)).eval()
    reference.load_state_dict(model.state_dict())
    assert torch.allclose(reference(pixels(), bool_masked_pos=mask).loss, out.loss)


def test_model_made_mask_is_seeded() -> None:
    model = MGMVideoMAE(tiny_config(name="random")).eval()
    first = model(pixels(), generator=torch.Generator().manual_seed(3)).bool_masked_pos
    again = model(pixels(), generator=torch.Generator().manual_seed(3)).bool_masked_pos
    other = model(pixels(), generator=torch.Generator().manual_seed(4)).bool_masked_pos
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize(
    ("bad_mask", "message"),
    [
        (torch.zeros(2, SEQ_LENGTH - 1, dtype=torch.bool), "shape"),
        (torch.stack([torch.arange(SEQ_LENGTH) < 10, torch.arange(SEQ_LENGTH) < 11]), "same number"),
        (torch.ones(2, SEQ_LENGTH, dtype=torch.bool), "every token"),
    ],
)
def test_bad_mask_gets_clear_error(bad_mask: torch.Tensor, message: str) -> None:
    model = MGMVideoMAE(tiny_config())
    with pytest.raises(ValueError, match=message):
        model(pixels(), bool_masked_pos=bad_mask)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"masking": {"name": "tube", "mask_ratio": 1.5}}, "mask_ratio"),
        ({"masking": {"name": "tube", "mask_ratio": 0.0}}, "mask_ratio"),
        ({"image_size": 30}, "divisible by patch_size"),
        ({"num_frames": 5}, "divisible by tubelet_size"),
        ({"masking": {"name": "no-such-strategy"}}, "available"),
        ({"masking": {"name": "tube", "mask_ratio": 0.9, "bogus_option": 1}}, "bogus_option"),
    ],
)
def test_config_validation(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MGMVideoMAEConfig(**{**TINY, **overrides})


def test_presets() -> None:
    base = MGMVideoMAEConfig.from_preset("vit-b")
    assert (base.hidden_size, base.num_hidden_layers, base.image_size, base.num_frames) == (768, 12, 224, 16)
    assert MGMVideoMAEConfig.from_preset("tiny", image_size=32).image_size == 32
    assert (base.use_mean_pooling, base.layer_norm_eps) == (False, 1e-6)  # as the official pretraining encoder
    with pytest.raises(ValueError, match="vit-b"):
        MGMVideoMAEConfig.from_preset("vit-xxl")


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = MGMVideoMAE(tiny_config(name="random", mask_ratio=0.5))
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    assert not list(tmp_path.glob("*.bin"))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "mgm_videomae"
    assert saved["masking"] == {"name": "random", "mask_ratio": 0.5}

    loaded = MGMVideoMAE.from_pretrained(tmp_path)
    def as_saved(config: MGMVideoMAEConfig) -> dict:
        return {k: v for k, v in config.to_dict().items() if k != "_name_or_path"}

    assert as_saved(loaded.config) == as_saved(model.config)
    assert loaded.masking_strategy == model.masking_strategy
    reference = model.state_dict()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, reference[key]), key


def test_auto_classes_load_it(tmp_path: Path) -> None:
    MGMVideoMAE(tiny_config(name="random")).save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), MGMVideoMAEConfig)
    assert type(AutoModelForPreTraining.from_pretrained(tmp_path)) is MGMVideoMAE


def test_set_masking_strategy_is_recorded(tmp_path: Path) -> None:
    model = MGMVideoMAE(tiny_config())
    model.set_masking_strategy({"name": "random", "mask_ratio": 0.5})
    model.save_pretrained(tmp_path)
    assert MGMVideoMAE.from_pretrained(tmp_path).masking_strategy.to_dict() == {"name": "random", "mask_ratio": 0.5}


def test_plain_videomae_checkpoint_loads_without_missing_keys(tmp_path: Path) -> None:
    torch.manual_seed(0)
    videomae = VideoMAEForPreTraining(VideoMAEConfig(**TINY)).eval()
    videomae.save_pretrained(tmp_path)
    model, info = MGMVideoMAE.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"]
    assert not info["unexpected_keys"]
    mask = torch.arange(SEQ_LENGTH).repeat(2, 1) % 4 != 0
    assert torch.equal(model.eval()(pixels(), bool_masked_pos=mask).loss, videomae(pixels(), bool_masked_pos=mask).loss)


def test_old_q_bias_layout_loads(tmp_path: Path) -> None:
    """MCG-NJU/videomae-base stores attention biases as `q_bias`/`v_bias` next to bias-free q/v layers."""
    torch.manual_seed(0)
    videomae = VideoMAEForPreTraining(VideoMAEConfig(**TINY)).eval()
    videomae.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    old = {}
    for key, value in state.items():
        key = key.replace("attention.attention.query.bias", "attention.attention.q_bias")
        old[key.replace("attention.attention.value.bias", "attention.attention.v_bias")] = value
    assert any(k.endswith("q_bias") for k in old) and not any(k.endswith("query.bias") for k in old)
    save_file(old, tmp_path / "model.safetensors", metadata={"format": "pt"})

    model, info = MGMVideoMAE.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"]
    assert not info["unexpected_keys"]
    bias = model.videomae.encoder.layer[1].attention.attention.value.bias
    assert torch.equal(bias, videomae.videomae.encoder.layer[1].attention.attention.value.bias)
