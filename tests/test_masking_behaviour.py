"""Behaviour of each strategy against known truth: synthetic motion with known positions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgm_hf.masking import build_masking_strategy
from mgm_hf.masking.warping import invert_flow


def make(name: str, sizes: dict, **options):
    return build_masking_strategy({"name": name, **options}, **sizes)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def grid(mask: torch.Tensor, strategy) -> torch.Tensor:
    """(B, L) -> (B, T', h, w)."""
    return mask.view(mask.shape[0], *strategy.geometry.token_grid)


def masked_centroid(frame_mask: torch.Tensor) -> torch.Tensor:
    """(h, w) bool -> (x, y) mean token centre of the masked tokens."""
    ys, xs = torch.nonzero(frame_mask, as_tuple=True)
    return torch.stack([xs.float().mean() + 0.5, ys.float().mean() + 0.5])


# ------------------------------------------------------------------------------ random and tube
SMALL = {"num_frames": 8, "image_size": 64, "patch_size": 8, "tubelet_size": 2}


def test_tube_is_constant_over_time():
    strategy = make("tube", SMALL)
    masks = grid(strategy(16, generator=seeded()), strategy)
    assert (masks == masks[:, :1]).all()
    assert not (masks[0, 0] == masks[1, 0]).all()  # but differs between clips


def test_random_is_not_constant_over_time_and_uniform_over_tokens():
    strategy = make("random", SMALL, mask_ratio=0.75)
    masks = grid(strategy(1000, generator=seeded()), strategy)
    assert not (masks == masks[:, :1]).all(dim=(2, 3)).all()
    rate = masks.float().mean(dim=0)  # every token masked about 75 % of the time
    assert rate.min() > 0.65 and rate.max() < 0.85


# ---------------------------------------------------------------------------------------- mgm
def moving_blob(frames: int = 8, size: int = 64, side: int = 16, speed: int = 4, y0: int = 24):
    """Full-resolution motion of a ``side``-px square whose top-left is (4 + speed * f, y0) in frame f.

    Returns (motion (1, T, size, size, 2), true centre (T, 2) in pixels).
    """
    motion = torch.zeros(1, frames, size, size, 2)
    centres = []
    for f in range(frames):
        x0 = 4 + speed * f
        motion[0, f, y0 : y0 + side, x0 : x0 + side, 0] = speed
        centres.append((x0 + side / 2, y0 + side / 2))
    return motion, torch.tensor(centres)


def test_mgm_rectangle_follows_the_moving_blob_and_covers_it():
    # 16 of 64 tokens per frame: 4 x 4; step 0 follows the motion too (the paper's is random, eq. 7)
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0, initial_position="motion")
    motion, centres = moving_blob()
    masks = grid(strategy(1, motion=motion, generator=seeded()), strategy)[0]
    for step in range(4):
        truth = centres[2 * step : 2 * step + 2].mean(dim=0) / 8  # blob centre over the tubelet, tokens
        truth = truth.clamp(2, 6)  # a 4 x 4 rectangle stays inside the 8 x 8 grid
        assert torch.allclose(masked_centroid(masks[step]), truth, atol=0.5), step
        for f in (2 * step, 2 * step + 1):  # every token the blob covers at least half is masked
            x0 = 4 + 4 * f
            for tx in range(8):
                overlap = max(0, min(x0 + 16, 8 * tx + 8) - max(x0, 8 * tx))
                if overlap >= 4:
                    assert masks[step, 3:5, tx].all(), (step, f, tx)


def test_mgm_same_centre_from_8px_grid_and_full_resolution():
    motion = torch.zeros(1, 8, 8, 8, 2)
    for f in range(8):
        motion[0, f, 2:4, 1 + f // 2 : 3 + f // 2] = torch.tensor([8.0, 0.0])
    full = motion.repeat_interleave(8, dim=2).repeat_interleave(8, dim=3)  # nearest upsampling, eq. 6
    strategy = make("mgm", SMALL, mask_ratio=0.25)
    assert torch.equal(strategy(1, motion=motion, generator=seeded()),
                       strategy(1, motion=full, generator=seeded()))
    centres, has_motion = strategy.motion_centres(motion, torch.device("cpu"))
    assert has_motion.all()
    expected_x = torch.tensor([2.0, 3.0, 4.0, 5.0])  # centre of the 2 x 2 block at x = 1 + step
    assert torch.allclose(centres[0, :, 0], expected_x) and torch.allclose(centres[0, :, 1], torch.full((4,), 3.0))


def blob_with_texture() -> tuple[torch.Tensor, torch.Tensor]:
    """Full-resolution motion (1, 8, 64, 64, 2) of a 16-px square on 8-px blocks plus per-pixel texture.

    The square's top-left is (8 + 8 * step, 24) in the frames of tubelet step ``step`` (it moves
    (4, 0) px per frame). Outside it a +-1 px checkerboard and a +-40 px pixel pair (x = 48, 49,
    y = 0: on a block's corner, so subsampling would pick it) cancel exactly inside every 8 x 8
    block: the block average is the square alone, while a per-pixel maximum lands on the pair.

    Returns:
        (motion, true centres (4, 2) in tokens of 8 px).
    """
    motion = torch.zeros(1, 8, 64, 64, 2)
    ys, xs = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    motion[..., 0] = ((xs + ys) % 2 * 2 - 1).float()  # checkerboard: +-1, sums to 0 per block
    motion[0, :, 0, 48, 0], motion[0, :, 0, 49, 0] = 40.0, -40.0
    centres = []
    for f in range(8):
        x0 = 8 + 8 * (f // 2)
        motion[0, f, 24:40, x0 : x0 + 16] = torch.tensor([4.0, 0.0])
        if f % 2 == 0:
            centres.append(((x0 + 8) / 8, (24 + 8) / 8))
    return motion, torch.tensor(centres)


def test_mgm_full_resolution_motion_and_its_8px_block_average_give_the_same_mask():
    full, truth = blob_with_texture()
    blocks = full.view(1, 8, 8, 8, 8, 8, 2).mean(dim=(3, 5))  # (1, T, 8, 8, 2): 8-px motion vectors
    assert blocks[0, :, 0, 6].abs().max() == 0 and blocks[0, 0, 4, 1, 0] == 4.0  # pair and texture gone
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0, initial_position="motion")  # motion_block=8
    from_full = strategy(1, motion=full, generator=seeded())
    assert torch.equal(from_full, strategy(1, motion=blocks, generator=seeded()))
    masks = grid(from_full, strategy)[0]
    for step in range(4):
        assert torch.allclose(masked_centroid(masks[step]), truth[step].clamp(2, 6), atol=0.5), step
    # Per pixel (motion_block=0) the strongest motion is the +-40 pair in the top-right corner.
    per_pixel = grid(
        make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0, motion_block=0, initial_position="motion")(
            1, motion=full, generator=seeded()
        ),
        strategy,
    )[0]
    assert masked_centroid(per_pixel[0])[1] == pytest.approx(2.0, abs=0.5)  # pushed to the top edge


def test_mgm_motion_on_blocks_at_least_motion_block_passes_through_unchanged():
    motion = torch.randn(2, 8, 8, 8, 2, generator=seeded(3)) * 4  # 8-px cells of a 64-px frame
    coarse = torch.randn(2, 8, 4, 5, 2, generator=seeded(4)) * 4  # 16 x 12.8 px cells
    for m in (motion, coarse):
        for block in (8, 4):
            strategy = make("mgm", SMALL, motion_block=block)
            assert strategy.block_motion(m) is m
            assert torch.equal(
                strategy(2, motion=m, generator=seeded()),
                make("mgm", SMALL, motion_block=0)(2, motion=m, generator=seeded()),
            )


@pytest.mark.parametrize("grid_size", [(64, 64), (16, 32), (20, 12), (64, 8)])
def test_mgm_block_motion_is_the_area_average(grid_size):
    motion = torch.randn(2, 8, *grid_size, 2, generator=seeded(1))
    pooled = make("mgm", SMALL).block_motion(motion)  # to 8 x 8 blocks, axes at or below 8 kept
    h_out, w_out = min(grid_size[0], 8), min(grid_size[1], 8)
    assert pooled.shape == (2, 8, h_out, w_out, 2)
    flat = motion.reshape(16, *grid_size, 2).permute(0, 3, 1, 2).double()
    expected = torch.nn.functional.adaptive_avg_pool2d(flat, (h_out, w_out)).permute(0, 2, 3, 1)
    torch.testing.assert_close(pooled.reshape(16, h_out, w_out, 2).double(), expected, atol=1e-5, rtol=0)


def test_mgm_top_k_averages_the_strongest_cells():
    motion = torch.zeros(1, 8, 8, 8, 2)
    motion[0, :, 1, 1, 0] = 9.0  # strongest cell, centre (1.5, 1.5)
    motion[0, :, 5, 6, 0] = 8.0  # second, centre (6.5, 5.5)
    strategy = make("mgm", SMALL, top_k=1)
    centres, _ = strategy.motion_centres(motion, torch.device("cpu"))
    assert torch.allclose(centres[0], torch.tensor([1.5, 1.5]).expand(4, 2))
    centres, _ = make("mgm", SMALL, top_k=2).motion_centres(motion, torch.device("cpu"))
    assert torch.allclose(centres[0], torch.tensor([4.0, 3.5]).expand(4, 2))


def blob_with_gap() -> torch.Tensor:
    """A 2 x 2-cell blob moving right one cell per tubelet, no motion in tubelet 2 (an I-frame pair)."""
    motion = torch.zeros(1, 8, 8, 8, 2)
    for step in (0, 1, 3):
        motion[0, 2 * step : 2 * step + 2, 3:5, 1 + step : 3 + step, 0] = 8.0
    return motion


@pytest.mark.parametrize(("policy", "expected_x"), [("keep_last", 3.0), ("center", 4.0)])
def test_mgm_frames_without_motion(policy, expected_x):
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0, no_motion=policy)
    masks = grid(strategy(1, motion=blob_with_gap(), generator=seeded()), strategy)[0]
    assert masked_centroid(masks[1])[0] == pytest.approx(3.0, abs=0.5)
    assert masked_centroid(masks[2])[0] == pytest.approx(expected_x, abs=0.5)
    assert masked_centroid(masks[3])[0] == pytest.approx(5.0, abs=0.5)


def test_mgm_no_motion_smm_keeps_moving_at_bounded_speed():
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0, no_motion="smm", max_speed=1.0)
    for seed in range(5):
        masks = grid(strategy(1, motion=blob_with_gap(), generator=seeded(seed)), strategy)[0]
        jump = (masked_centroid(masks[2]) - masked_centroid(masks[1])).abs()
        assert (jump <= 1.0 + 0.5).all()


def test_mgm_static_clip_keep_last_is_a_random_static_block():
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0)
    still = torch.zeros(2, 8, 8, 8, 2)
    masks = grid(strategy(2, motion=still, generator=seeded()), strategy)
    assert (masks == masks[:, :1]).all()  # does not move
    assert not torch.equal(masks[0, 0], masks[1, 0])  # random place per clip
    (ys, xs) = torch.nonzero(masks[0, 0], as_tuple=True)
    assert (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1) == 16  # a dense 4 x 4 block


# ---------------------------------------------------------------------------------------- smm
BIG = {"num_frames": 16, "image_size": 128, "patch_size": 8, "tubelet_size": 2}  # 8 x 16 x 16 tokens


def test_smm_rectangle_is_dense_and_moves_with_constant_velocity():
    strategy = make("smm", BIG, mask_ratio=0.1, scale_jitter=0.0, max_speed=1.0)  # 25 tokens, 5 x 5
    masks = grid(strategy(40, generator=seeded()), strategy)
    checked = moved = 0
    for clip in masks:
        boxes = []
        for frame in clip:
            ys, xs = torch.nonzero(frame, as_tuple=True)
            boxes.append((xs.min().item(), xs.max().item(), ys.min().item(), ys.max().item()))
            assert (xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1) <= 30  # dense: the count is 25
        if any(b[0] == 0 or b[1] == 15 or b[2] == 0 or b[3] == 15 for b in boxes):
            continue  # touched the border: it bounces there
        path = torch.stack([masked_centroid(frame) for frame in clip])  # (8, 2)
        t = torch.arange(8.0)
        slope = ((t - t.mean()).unsqueeze(1) * (path - path.mean(0))).sum(0) / ((t - t.mean()) ** 2).sum()
        residual = path - (path.mean(0) + slope * (t - t.mean()).unsqueeze(1))
        assert residual.abs().max() < 0.75  # a straight line at constant speed, up to token rounding
        assert (slope.abs() <= 1.0 + 1e-6).all()
        checked += 1
        moved += int(slope.abs().max() > 0.2)
    assert checked >= 5 and moved >= checked // 2


def test_smm_per_step_velocity_is_not_a_straight_line():
    strategy = make("smm", BIG, mask_ratio=0.1, scale_jitter=0.0, max_speed=1.0, velocity="per_step")
    masks = grid(strategy(20, generator=seeded()), strategy)
    curvature = []
    for clip in masks:
        path = torch.stack([masked_centroid(frame) for frame in clip])
        curvature.append((path[2:] - 2 * path[1:-1] + path[:-2]).abs().max())
    assert max(curvature) > 1.0


def test_smm_clip_count_lets_the_area_vary_per_frame():
    strategy = make("smm", BIG, mask_ratio=0.1, scale_jitter=0.5, count="clip")
    masks = grid(strategy(8, generator=seeded()), strategy)
    per_frame = masks.sum(dim=(2, 3))
    assert (per_frame.sum(dim=1) == strategy.num_masked).all()
    assert (per_frame.max(dim=1).values > per_frame.min(dim=1).values).any()


# -------------------------------------------------------------------------------------- mgmae
MGMAE = {"num_frames": 8, "image_size": 64, "patch_size": 16, "tubelet_size": 2}  # 4 x 4 x 4 tokens


def translation(dx: float, dy: float = 0.0, grid_size: int = 8, frames: int = 8) -> torch.Tensor:
    """Uniform motion (1, T, g, g, 2): every pixel moves (dx, dy) pixels per frame."""
    motion = torch.zeros(1, frames, grid_size, grid_size, 2)
    motion[..., 0], motion[..., 1] = dx, dy
    return motion


@pytest.mark.parametrize("base_frame", ["middle", "first", "random"])
@pytest.mark.parametrize("warp", ["backward", "forward"])
@pytest.mark.parametrize(("initial_map", "map_stride", "grid_size"),
                         [("token_random", 4, 8), ("gaussian_mixture", 1, 64), ("gaussian_mixture", 4, 8)])
def test_mgmae_visible_tokens_move_with_the_content_on_both_sides_of_the_base(
    base_frame, warp, initial_map, map_stride, grid_size
):
    # 8 px per frame = one 16-px token per 2-frame tubelet; the base frame is 4 (tubelet 2) or 0.
    strategy = make("mgmae", MGMAE, mask_ratio=0.75, base_frame=base_frame, warp=warp,
                    initial_map=initial_map, map_stride=map_stride, hole_fill="invisible")
    for dx, dy in ((8.0, 0.0), (0.0, -8.0)):
        motion = translation(dx, dy, grid_size)
        for seed in range(4):
            visible = ~grid(strategy(1, motion=motion, generator=seeded(seed)), strategy)[0]  # (4, 4, 4)
            base_step = {"middle": 2, "first": 0}.get(base_frame)
            if base_frame == "random":  # the clip's own base frame (the strategy's first random draw)
                base_step = int(strategy.base_indices(1, seeded(seed), torch.device("cpu"))[0]) // 2
            ys, xs = torch.nonzero(visible[base_step], as_tuple=True)
            for step in range(4):
                shift = step - base_step  # tokens moved since the base tubelet, along (dx, dy)
                tx, ty = xs + int(np.sign(dx)) * shift, ys + int(np.sign(dy)) * shift
                stays = (tx >= 0) & (tx < 4) & (ty >= 0) & (ty < 4)
                assert visible[step, ty[stays], tx[stays]].all(), (step, seed, dx, dy)


def shift_columns(image: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Content moves right by ``cells`` (left if negative): (shifted, hole mask of new columns)."""
    out = np.zeros_like(image)
    hole = np.zeros(image.shape, dtype=bool)
    if cells > 0:
        out[:, cells:], hole[:, :cells] = image[:, :-cells], True
    else:
        out[:, :cells], hole[:, cells:] = image[:, -cells:], True
    return out, hole


def expected_volume(base_map: np.ndarray, base: int, frames: int, cells: int, fill: str) -> np.ndarray:
    """MGMAE section 4.2's hole filling for a translation of ``cells`` per frame, written directly."""
    volume = np.zeros((frames, *base_map.shape))
    volume[base] = base_map
    for order, step in ((range(base + 1, frames), -1), (range(base - 1, -1, -1), 1)):
        for t in order:
            previous = volume[t + step]
            moved, hole = shift_columns(previous, cells if step == -1 else -cells)
            fill_value = {"invisible": 0.0, "visible": 1.0, "previous": previous, "tube": base_map}[fill]
            volume[t] = np.where(hole, fill_value, moved)
    return volume


@pytest.mark.parametrize("fill", ["invisible", "visible", "previous", "tube"])
@pytest.mark.parametrize("warp", ["backward", "forward"])
def test_mgmae_hole_filling_at_the_border(fill, warp):
    strategy = make("mgmae", MGMAE, initial_map="pixel_random", mask_ratio=0.5, hole_fill=fill,
                    warp=warp, map_stride=4)  # 16 x 16 map cells of 4 px
    motion = translation(8.0)  # 2 cells per frame to the right
    volume = strategy.build_volume(motion, seeded()).numpy()[0]  # (8, 16, 16)
    base_map = volume[4]
    assert set(np.unique(base_map.round(6))) == {0.0, 1.0}  # pixel-random: 1 visible, 1e-8 masked
    assert np.isclose(base_map, 1.0).mean() == pytest.approx(0.5, abs=0.01)
    expected = expected_volume(base_map, base=4, frames=8, cells=2, fill=fill)
    np.testing.assert_allclose(volume, expected, atol=1e-6)


def test_mgmae_random_hole_fill():
    strategy = make("mgmae", MGMAE, initial_map="gaussian_mixture", mask_ratio=0.75, hole_fill="random",
                    map_stride=1)
    volume = strategy.build_volume(translation(8.0).expand(16, -1, -1, -1, -1), seeded()).numpy()
    holes = volume[:, 5:, :, :8]  # after the base, the 8 columns entering from the left
    assert set(np.unique(holes.round(6))) == {0.0, 1.0}
    assert (holes > 0.5).mean() == pytest.approx(0.25, abs=0.03)  # visible with probability 1 - ratio
    np.testing.assert_allclose(volume[:, 5, :, 8:], volume[:, 4, :, :-8], atol=1e-6)  # the rest moved


def test_mgmae_gaussian_mixture_sum_is_the_sum_of_gaussians_on_chosen_token_centres():
    # 4 of 16 tokens, sigma = 16 px (the paper's formula, section 3.2)
    strategy = make("mgmae", MGMAE, mask_ratio=0.75, map_stride=1, gaussian_combine="sum")
    base_map = strategy.initial_maps(1, seeded(), torch.device("cpu"))[0].numpy()  # (64, 64)
    # The chosen tokens are the local maxima of the per-token mean; rebuild the mixture from them.
    pooled = base_map.reshape(4, 16, 4, 16).mean(axis=(1, 3))
    chosen = np.argsort(pooled.ravel())[-4:]
    centres = [((i % 4) * 16 + 7.5, (i // 4) * 16 + 7.5) for i in chosen]
    ys, xs = np.mgrid[0:64, 0:64].astype(float)
    mixture = sum(np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * 16.0**2)) for cx, cy in centres)
    np.testing.assert_allclose(base_map, np.maximum(mixture / mixture.max(), 1e-8), rtol=1e-4, atol=1e-6)


def test_mgmae_gaussian_mixture_max_is_the_official_kernel_on_chosen_token_centres():
    # MixGaussianInitialMaskingGenerator: max over exp(-((x - cx)^2 + (y - cy)^2) / 16^2), then / max
    strategy = make("mgmae", MGMAE, mask_ratio=0.75, map_stride=1)
    base_map = strategy.initial_maps(1, seeded(), torch.device("cpu"))[0].numpy()  # (64, 64)
    pooled = base_map.reshape(4, 16, 4, 16).mean(axis=(1, 3))
    chosen = np.argsort(pooled.ravel())[-4:]
    centres = [((i % 4) * 16 + 7.5, (i // 4) * 16 + 7.5) for i in chosen]
    ys, xs = np.mgrid[0:64, 0:64].astype(float)
    mixture = np.max([np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 16.0**2) for cx, cy in centres], axis=0)
    np.testing.assert_allclose(base_map, np.maximum(mixture / mixture.max(), 1e-8), rtol=1e-4, atol=1e-6)


def test_mgmae_no_motion_is_tube_masking():
    strategy = make("mgmae", MGMAE, mask_ratio=0.75)
    masks = grid(strategy(4, motion=torch.zeros(4, 8, 8, 8, 2), generator=seeded()), strategy)
    assert (masks == masks[:, :1]).all()


def test_mgmae_base_frame_option_changes_which_tubelet_holds_the_initial_map():
    motion = translation(8.0)
    for base_frame, base_index in (("first", 0), ("middle", 4)):
        strategy = make("mgmae", MGMAE, mask_ratio=0.75, base_frame=base_frame, initial_map="token_random")
        volume = strategy.build_volume(motion, seeded())
        initial = strategy.initial_maps(1, seeded(), torch.device("cpu"))  # (1, 16, 16) of 4-px cells
        assert torch.equal(volume[:, base_index], initial)
        visible = ~grid(strategy(1, motion=motion, generator=seeded()), strategy)[0]
        init_tokens = initial[0].view(4, 4, 4, 4).mean(dim=(1, 3)) > 0.5  # the initially visible tokens
        assert torch.equal(visible[base_index // 2], init_tokens)
        assert not torch.equal(visible[2 - base_index // 2], init_tokens)  # it moved elsewhere


def test_mgmae_random_base_frame_varies_per_clip():
    strategy = make("mgmae", MGMAE, base_frame="random")
    bases = strategy.base_indices(64, seeded(), torch.device("cpu"))
    assert bases.min() >= 0 and bases.max() <= 7 and len(set(bases.tolist())) >= 6


def test_mgmae_clip_top_k_lets_per_frame_counts_vary():
    motion = translation(8.0)
    frame = make("mgmae", MGMAE, mask_ratio=0.75, hole_fill="invisible")
    clip = make("mgmae", MGMAE, mask_ratio=0.75, hole_fill="invisible", top_k="clip", base_frame="first")
    assert (grid(frame(1, motion=motion, generator=seeded()), frame).sum(dim=(2, 3)) == 12).all()
    counts = [grid(clip(1, motion=motion, generator=seeded(s)), clip).sum(dim=(2, 3)) for s in range(5)]
    assert any(c.max() > c.min() for c in counts)  # later tubelets lose visible content to holes


def test_mgmae_exposure_noise_changes_exactly_one_tubelet():
    still = torch.zeros(8, 8, 8, 8, 2)
    # 512 times the official noise: N(0, 1) on each token's mean visibility, so ranks change
    strategy = make("mgmae", MGMAE, mask_ratio=0.75, exposure_std=512.0)
    masks = grid(strategy(8, motion=still, generator=seeded()), strategy)
    odd_one_out = 0
    for clip in masks:  # without motion all tubelets agree, except at most the exposed one
        distinct = {tuple(step.flatten().tolist()) for step in clip}
        same_as_first = sum(torch.equal(clip[s], clip[0]) for s in range(4))
        assert len(distinct) <= 2 and same_as_first in (1, 3, 4)
        odd_one_out += len(distinct) == 2
    assert odd_one_out >= 4


def test_invert_flow_of_a_zoom():
    # g(q) = a (q - c) anchored at the later frame; the earlier-anchored flow is f(p) = a (p - c) / (1 - a).
    a, size, c = 0.05, 32, 15.5
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    g = torch.stack([a * (xs - c), a * (ys - c)], dim=-1).unsqueeze(0)
    f = invert_flow(g, iterations=3)
    truth = g / (1 - a)
    inner = slice(4, size - 4)
    assert torch.allclose(f[0, inner, inner], truth[0, inner, inner], atol=1e-3)
    assert not torch.allclose(g[0, inner, inner], truth[0, inner, inner], atol=1e-2)  # the inverse matters


def test_mgmae_flow_estimator_hook_and_missing_flow_method():
    strategy = make("mgmae", MGMAE, mask_ratio=0.75, base_frame="first", initial_map="token_random",
                    hole_fill="invisible")
    pixels = torch.zeros(1, 8, 3, 64, 64)
    with pytest.raises(ValueError, match="flow_method"):
        strategy(1, pixel_values=pixels, generator=seeded())

    def constant_flow(pixel_values: torch.Tensor) -> torch.Tensor:
        b, t, _, h, w = pixel_values.shape
        return translation(8.0, grid_size=h).expand(b, t, h, w, 2)

    strategy.flow_estimator = constant_flow
    from_pixels = strategy(1, pixel_values=pixels, generator=seeded())
    assert torch.equal(from_pixels, strategy(1, motion=translation(8.0), generator=seeded()))
    assert "flow_estimator" not in strategy.to_dict()


# ------------------------------------------------------------------------- with real videos
def test_mgm_follows_the_synthetic_square_of_the_video_module():
    from mgm_hf.video.synthetic import moving_square_frames, moving_square_motion

    _, positions = moving_square_frames(num_frames=8, size=(64, 64), square_size=16, velocity=(4.0, 2.0),
                                        start=(4, 8), background="flat")
    motion = torch.from_numpy(moving_square_motion(positions, (64, 64), 16)).unsqueeze(0)
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0, initial_position="motion")
    masks = grid(strategy(1, motion=motion, generator=seeded()), strategy)[0]
    for step in range(4):
        frame = 2 * step + 1  # frame 0 has no motion; the tubelet's moving pixels are frame 2s+1's
        centre = torch.tensor(positions[frame] + 8.0, dtype=torch.float32) / 8
        assert torch.allclose(masked_centroid(masks[step]), centre.clamp(2, 6), atol=1.0), step


@pytest.mark.parametrize("name", ["mgm", "mgmae"])
def test_flow_estimator_hook_and_flow_method_are_shared(name):
    strategy = make(name, MGMAE, mask_ratio=0.75)
    pixels = torch.zeros(1, 8, 3, 64, 64)
    with pytest.raises(ValueError, match="flow_method"):
        strategy(1, pixel_values=pixels, generator=seeded())
    strategy.flow_estimator = lambda pixel_values: translation(8.0, grid_size=64, frames=pixel_values.shape[1])
    from_pixels = strategy(1, pixel_values=pixels, generator=seeded())
    if strategy.uses_reverse_motion:  # the frames played backwards: the same hook gives the reverse motion
        reverse = torch.zeros(1, 8, 64, 64, 2)
        reverse[:, :5] = translation(8.0, grid_size=64, frames=5)
        expected = strategy(1, motion=translation(8.0, grid_size=64), reverse_motion=reverse, generator=seeded())
    else:
        expected = strategy(1, motion=translation(8.0, grid_size=64), generator=seeded())
    assert torch.equal(from_pixels, expected)
    assert "flow_estimator" not in strategy.to_dict() and strategy.to_dict()["flow_method"] is None
    with pytest.raises(ValueError, match="cannot estimate motion"):
        make("tube", MGMAE).estimate_motion(pixels)


def test_mgm_from_pixel_values_follows_the_synthetic_square_with_dis_flow():
    from mgm_hf.video.flow import estimate_flow_batch
    from mgm_hf.video.synthetic import moving_square_frames

    frames, positions = moving_square_frames(
        num_frames=8, size=(64, 64), square_size=16, velocity=(4.0, 2.0), start=(4, 8)
    )
    pixels = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)  # (1, T, C, H, W)
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0, flow_method="dis", initial_position="motion")
    from_pixels = strategy(1, pixel_values=pixels, generator=seeded())
    motion = estimate_flow_batch(pixels, method="dis")  # (1, T, 64, 64, 2), full resolution
    assert torch.equal(from_pixels, strategy(1, motion=motion, generator=seeded()))
    masks = grid(from_pixels, strategy)[0]
    for step in range(4):
        frame = 2 * step + 1  # frame 0 has no motion; the tubelet's moving pixels are frame 2s+1's
        centre = torch.tensor(positions[frame] + 8.0, dtype=torch.float32) / 8
        assert torch.allclose(masked_centroid(masks[step]), centre.clamp(2, 6), atol=1.0), step


def test_mgmae_from_pixel_values_uses_the_flow_backend():
    from mgm_hf.video.flow import estimate_flow_batch
    from mgm_hf.video.synthetic import moving_square_frames

    frames, positions = moving_square_frames(num_frames=8, size=(64, 64), square_size=24, velocity=(4.0, 0.0))
    pixels = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)  # (1, T, C, H, W)
    strategy = make("mgmae", MGMAE, mask_ratio=0.75, flow_method="dis")
    from_pixels = strategy(1, pixel_values=pixels, generator=seeded())
    motion = estimate_flow_batch(pixels, method="dis")
    assert torch.equal(from_pixels, strategy(1, motion=motion, generator=seeded()))
    for t in range(1, 8):  # inside the square, the estimated motion is its velocity (sanity of the input)
        x, y = (int(v) for v in positions[t])
        assert motion[0, t, y + 8 : y + 16, x + 8 : x + 16, 0].mean() == pytest.approx(4.0, abs=1.0), t
