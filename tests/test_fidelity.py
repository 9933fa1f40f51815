"""Fidelity metrics on cases with known answers (mgm_hf.mask_metrics).

The moving square: 16 × 16 px, top-left (8 f, 8) in frame f, i.e. 8 px/frame to the right on a 64 × 64
static background, 6 frames, tokens of 2 × 8 × 8 px. In token units the square covers rows 1-2 and
columns f, f+1 of frame f, so time step t' (frames 2t', 2t'+1) touches columns 2t' .. 2t'+2.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.mask_metrics import (
    copy_from_visible,
    fill_unfound_with_token_mean,
    masked_token_mse,
    patchify,
    token_motion_energy,
    unpatchify,
    visible_motion_share,
    visible_token_share,
)
from mgm_hf.masking import MaskGeometry
from mgm_hf.video import moving_square_frames, moving_square_motion
from mgm_hf.video.synthetic import random_texture

GEOMETRY = MaskGeometry(num_frames=6, image_size=64, patch_size=8, tubelet_size=2)
SPEED = 8.0


def square_clip() -> tuple[torch.Tensor, torch.Tensor]:
    """frames (1, 6, 3, 64, 64) in [0, 1] and true per-pixel motion (1, 6, 64, 64, 2)."""
    frames, positions = moving_square_frames(num_frames=6, size=(64, 64), square_size=16, velocity=(SPEED, 0.0),
                                             start=(0, 8), seed=3)
    motion = moving_square_motion(positions, (64, 64), 16, first="zero")
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)[None]
    return x, torch.from_numpy(motion)[None]


def square_token_mask() -> torch.Tensor:
    """(1, L) True exactly on the tokens the square touches (from its known positions, not from motion)."""
    grid = torch.zeros(3, 8, 8, dtype=torch.bool)
    for tp in range(3):
        grid[tp, 1:3, 2 * tp : 2 * tp + 3] = True
    return grid.reshape(1, -1)


def test_energy_per_token_and_total() -> None:
    _, motion = square_clip()
    energy = token_motion_energy(motion, GEOMETRY).reshape(3, 8, 8)
    # Frames 1..5 move 8 px: 256 square pixels × 64 each; frame 0 has zero motion.
    assert energy.sum().item() == pytest.approx(5 * 256 * SPEED**2)
    # Time step 1 (frames 2, 3): the column shared by both frames' squares gets 2 frames × 64 px × 64.
    assert energy[1, 1, 3].item() == pytest.approx(2 * 64 * SPEED**2)
    assert energy[1, 0].sum().item() == 0 and energy[1, 3:].sum().item() == 0


def test_energy_from_a_coarse_grid_matches_pixels() -> None:
    _, motion = square_clip()
    coarse = motion.reshape(1, 6, 8, 8, 8, 8, 2).mean(dim=(3, 5))  # 8-px cells, like motion vectors
    assert torch.allclose(token_motion_energy(coarse, GEOMETRY), token_motion_energy(motion, GEOMETRY))


def test_mask_hiding_exactly_the_square_leaves_no_visible_motion() -> None:
    _, motion = square_clip()
    energy = token_motion_energy(motion, GEOMETRY)
    mask = square_token_mask()
    assert visible_motion_share(mask, energy).item() == 0.0
    assert visible_motion_share(~mask, energy).item() == 1.0  # hides everything but the square


def test_share_counts_frames() -> None:
    _, motion = square_clip()
    energy = token_motion_energy(motion, GEOMETRY)
    mask = square_token_mask().reshape(3, 64).clone()
    mask[1:] = False  # hide the square in time step 0 only: frame 1 of the 5 moving frames
    assert visible_motion_share(mask.reshape(1, -1), energy).item() == pytest.approx(4 / 5)


def test_share_is_nan_without_motion_and_chance_level() -> None:
    mask = torch.zeros(2, GEOMETRY.seq_length, dtype=torch.bool)
    mask[:, :144] = True  # 144 of 192 tokens
    assert torch.isnan(visible_motion_share(mask, torch.zeros(2, GEOMETRY.seq_length))).all()
    assert torch.allclose(visible_token_share(mask), torch.tensor([0.25, 0.25]))


def translating_texture(dx: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """A texture moving ``dx`` px/frame to the right, filling the frame: (1, 6, 3, 64, 64), motion."""
    texture = random_texture(64, 64 + 6 * dx, seed=5)
    frames = np.stack([texture[:, 6 * dx - dx * t : 6 * dx - dx * t + 64] for t in range(6)])
    motion = torch.zeros(1, 6, 64, 64, 2)
    motion[:, 1:, ..., 0] = dx
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)[None], motion


def test_copy_is_exact_when_every_source_is_visible() -> None:
    frames, motion = translating_texture()
    grid = torch.zeros(3, 8, 8, dtype=torch.bool)
    grid[1:, :, 2:6] = True  # x in [16, 48) hidden in time steps 1, 2; time step 0 fully visible
    mask = grid.reshape(1, -1)
    copy = copy_from_visible(frames, motion, mask, GEOMETRY)
    assert copy.found.all()
    assert masked_token_mse(copy.frames, frames, mask, GEOMETRY).item() < 1e-10
    # Visible pixels are untouched; the masked ones came from 1 or more frames away.
    assert torch.equal(copy.frames[:, :2], frames[:, :2])
    assert copy.source_distance[0, 2:, :, 16:48].min().item() >= 1


def test_copy_fails_where_the_mask_follows_the_content() -> None:
    frames, motion = square_clip()
    mask = square_token_mask()
    copy = copy_from_visible(frames, motion, mask, GEOMETRY)
    for f in range(6):  # the square itself is hidden in every frame: no source anywhere
        assert not copy.found[0, f, 8:24, 8 * f : 8 * f + 16].any()
    assert masked_token_mse(copy.frames, frames, mask, GEOMETRY).item() > 1e-3
    # Background the square uncovers in frame 1 (x < 8) is hidden there but visible in frame 2.
    assert copy.found[0, 1, 8:24, :8].all() and (copy.source_distance[0, 1, 8:24, :8] == 1).all()
    assert torch.allclose(copy.frames[0, 1, :, 8:24, :8], frames[0, 1, :, 8:24, :8])


def test_copy_without_motion_under_a_tube_mask_finds_nothing() -> None:
    frames, _ = translating_texture()
    mask = torch.zeros(3, 64, dtype=torch.bool)
    mask[:, :48] = True  # the same tokens in every time step
    copy = copy_from_visible(frames, torch.zeros(1, 6, 8, 8, 2), mask.reshape(1, -1), GEOMETRY)
    hidden = copy.found[0, :, :48]  # rows 0-5 of tokens = pixel rows 0..47
    assert not hidden.any()


def test_blind_fill_scores_n_minus_1_over_n_in_norm_pix_space() -> None:
    frames, _ = translating_texture()
    mask = torch.ones(1, GEOMETRY.seq_length, dtype=torch.bool)
    blind = fill_unfound_with_token_mean(frames, frames, torch.zeros(1, 6, 64, 64, dtype=torch.bool), GEOMETRY)
    n = 2 * 8 * 8
    assert masked_token_mse(blind, frames, mask, GEOMETRY, norm_pix=True).item() == pytest.approx((n - 1) / n, rel=1e-3)


@pytest.mark.parametrize("norm_pix", [False, True])
def test_token_layout_and_norm_pix_match_videomae_loss(norm_pix: bool) -> None:
    """Our patchify (and norm-pix MSE) reproduce transformers' pretraining loss from its logits."""
    config = MGMVideoMAEConfig.from_preset("tiny", num_frames=6, num_hidden_layers=1, decoder_num_hidden_layers=1,
                                           norm_pix_loss=norm_pix, masking={"name": "tube", "mask_ratio": 0.75})
    torch.manual_seed(0)
    model = MGMVideoMAE(config).eval()
    frames, _ = square_clip()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    mask = torch.zeros(1, GEOMETRY.seq_length, dtype=torch.bool)
    mask[0, torch.randperm(GEOMETRY.seq_length, generator=torch.Generator().manual_seed(1))[:144]] = True
    with torch.no_grad():
        out = model(pixel_values=(frames - mean) / std, bool_masked_pos=mask)
    patches = patchify(frames, GEOMETRY).clone()  # (1, L, N, C)
    patches[mask] = out.logits.reshape(-1, patches.shape[2], 3)
    if norm_pix:  # logits are in norm-pix space: map them back with the true statistics first
        true = patchify(frames, GEOMETRY)[mask]
        mu, sd = true.mean(1, keepdim=True), true.var(1, unbiased=True, keepdim=True).sqrt() + 1e-6
        patches[mask] = patches[mask] * sd + mu
    prediction = unpatchify(patches, GEOMETRY)
    mse = masked_token_mse(prediction, frames, mask, GEOMETRY, norm_pix=norm_pix)
    assert mse.item() == pytest.approx(out.loss.item(), rel=1e-4)
