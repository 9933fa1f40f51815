"""MaskingStrategy.mask_clips: the one mask call of the data side (VideoTransform, per row) and of the
model (bool_masked_pos=None); it checks the clips' geometry before masking."""

from __future__ import annotations

import pytest
import torch

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig, build_masking_strategy

TINY = dict(
    image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
    num_attention_heads=2, intermediate_size=64, decoder_hidden_size=16, decoder_num_hidden_layers=1,
    decoder_num_attention_heads=2, decoder_intermediate_size=32,
)
SIZES = {"num_frames": 4, "image_size": 32, "patch_size": 8, "tubelet_size": 2}
L = 2 * 4 * 4


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def moving_cell(batch: int) -> torch.Tensor:
    """(B, T, 4, 4, 2): one 8-px cell moving 3 px right per frame."""
    motion = torch.zeros(batch, 4, 4, 4, 2)
    motion[:, :, 1, 2, 0] = 3.0
    return motion


@pytest.mark.parametrize("name", ["tube", "random", "mgm"])
def test_masks_per_clip_with_the_strategy_count_and_repeatable(name):
    strategy = build_masking_strategy({"name": name, "mask_ratio": 0.75}, **SIZES)
    clips = torch.randn(3, 4, 3, 32, 32)
    masks = strategy.mask_clips(clips, moving_cell(3), seeded(3))
    assert masks.shape == (3, L) and masks.dtype == torch.bool
    assert masks.sum(1).tolist() == [strategy.num_masked] * 3
    assert torch.equal(masks, strategy.mask_clips(clips, moving_cell(3), seeded(3)))
    assert not torch.equal(masks, strategy.mask_clips(clips, moving_cell(3), seeded(4)))


def test_clips_of_another_geometry_are_an_error():
    strategy = build_masking_strategy({"name": "tube", "mask_ratio": 0.5}, **SIZES)
    with pytest.raises(ValueError, match=r"\(T, H, W\) = \(4, 16, 16\) but the masking strategy expects \(4, 32, 32\)"):
        strategy.mask_clips(torch.randn(1, 4, 3, 16, 16))
    with pytest.raises(ValueError, match=r"pixel_values must be \(N, T, C, H, W\)"):
        strategy.mask_clips(torch.randn(4, 3, 32, 32))


def test_the_model_masks_through_mask_clips():
    """The model's own masks are the data side's: the same call, the same geometry check."""
    model = MGMVideoMAE(MGMVideoMAEConfig(**TINY, masking={"name": "mgm", "mask_ratio": 0.75})).eval()
    clips = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        out = model(clips, motion=moving_cell(2), generator=seeded(5))
    assert torch.equal(out.bool_masked_pos, model.masking_strategy.mask_clips(clips, moving_cell(2), seeded(5)))
    with pytest.raises(ValueError, match="but the masking strategy expects"), torch.no_grad():
        model(torch.randn(2, 4, 3, 64, 64))
