"""Defaults that match the papers and MGMAE's official code, checked against known answers (issue 11)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mgm_hf.masking import build_masking_strategy


def make(name: str, sizes: dict, **options):
    return build_masking_strategy({"name": name, **options}, **sizes)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -------------------------------------------------------------------------------------- mgmae
ONE_STEP = {"num_frames": 2, "image_size": 128, "patch_size": 16, "tubelet_size": 2}  # 1 x 8 x 8 tokens


def test_mgmae_default_visibility_is_flat_over_positions_without_motion():
    # Without motion every token is equally likely to be drawn, so every token is visible with the
    # same probability (6 / 64) wherever it is (border ring: 28 tokens, interior: 36, corners: 4).
    strategy = make("mgmae", ONE_STEP, mask_ratio=0.9)
    clips = 4000
    visible = ~strategy(clips, motion=torch.zeros(clips, 2, 8, 8, 2), generator=seeded()).view(clips, 8, 8)
    rate = visible.double().mean(dim=0)  # (8, 8)
    border = torch.ones(8, 8, dtype=torch.bool)
    border[1:-1, 1:-1] = False
    p = visible.double().mean().item()  # the share kept visible
    for region in (border, ~border):
        observed = rate[region].mean().item()
        sd = math.sqrt(p * (1 - p) / (clips * int(region.sum())))  # sampling error of that mean
        assert abs(observed - p) < 4 * sd, (observed, p, sd)
    corners = rate[[0, 0, -1, -1], [0, -1, 0, -1]].mean().item()
    assert abs(corners - p) < 4 * math.sqrt(p * (1 - p) / (clips * 4))


def test_mgmae_sum_combine_favours_the_interior():
    # The paper's sum of Gaussians (an option): bumps of chosen neighbours add up in the interior.
    strategy = make("mgmae", ONE_STEP, mask_ratio=0.9, gaussian_combine="sum")
    clips = 2000
    visible = ~strategy(clips, motion=torch.zeros(clips, 2, 8, 8, 2), generator=seeded()).view(clips, 8, 8)
    rate = visible.double().mean(dim=0)
    assert rate[2:-2, 2:-2].mean() > 2 * rate[[0, 0, -1, -1], [0, -1, 0, -1]].mean()


def test_mgmae_default_keeps_floor_of_the_visible_share():
    # Paper section 3.2 (N_v = floor((1 - rho) H/16 W/16)) and the official top-k: 19 of 196 at 0.9.
    sizes = {"num_frames": 4, "image_size": 224, "patch_size": 16, "tubelet_size": 2}
    strategy = make("mgmae", sizes, mask_ratio=0.9)
    mask = strategy(2, motion=torch.zeros(2, 4, 28, 28, 2), generator=seeded()).view(2, 2, 196)
    assert (mask.sum(dim=-1) == 196 - 19).all()
    tube_rule = make("mgmae", sizes, mask_ratio=0.9, visible_count="floor_masked")
    mask = tube_rule(2, motion=torch.zeros(2, 4, 28, 28, 2), generator=seeded()).view(2, 2, 196)
    assert (mask.sum(dim=-1) == 196 - 20).all()


def test_mgmae_max_combine_keeps_exactly_drawn_tokens_at_the_base_frame():
    # Drawn tokens are the ones whose cells reach the map's maximum (their own bump's peak cells).
    strategy = make("mgmae", ONE_STEP, mask_ratio=0.75, visible_count="floor_masked")
    for seed in range(5):
        base = strategy.initial_maps(1, seeded(seed), torch.device("cpu"))[0]  # (32, 32) cells of 4 px
        drawn = base.view(8, 4, 8, 4).amax(dim=(1, 3)) == base.max()
        assert int(drawn.sum()) == 16
        visible = ~strategy(1, motion=torch.zeros(1, 2, 8, 8, 2), generator=seeded(seed)).view(8, 8)
        assert torch.equal(visible, drawn)


MGMAE = {"num_frames": 8, "image_size": 64, "patch_size": 16, "tubelet_size": 2}  # 4 x 4 x 4 tokens


def test_mgmae_exposure_is_the_official_unit_normal_on_the_pixel_sum():
    # Worked example of the official code: score = sum of the map over the token's 2 x 16 x 16 = 512
    # pixels, plus N(0, 1) on one random time step. Our scores are means, so 512 * ours - that sum
    # must be N(0, 1) on exactly one step per clip and ~0 (tie-breaking noise, 512e-6) elsewhere.
    strategy = make("mgmae", MGMAE, mask_ratio=0.75, map_stride=1, exposure_std=1.0)
    clips = 256
    volume = torch.rand(clips, 8, 64, 64, generator=seeded(1), dtype=torch.float64).float()
    official_sum = volume.double().view(clips, 4, 2, 4, 16, 4, 16).sum(dim=(2, 4, 6)).view(clips, 4, 16)
    residual = strategy.token_scores(volume, seeded(2)).double() * 512 - official_sum  # (B, 4, 16)
    exposed = residual.abs().amax(dim=-1) > 0.01  # (B, 4)
    assert (exposed.sum(dim=1) == 1).all()
    assert len(set(exposed.float().argmax(dim=1).tolist())) == 4  # the exposed step is random
    noise = residual[exposed]  # (B, 16)
    assert residual[~exposed].abs().max() < 0.01
    assert noise.std().item() == pytest.approx(1.0, abs=0.05)
    assert noise.mean().item() == pytest.approx(0.0, abs=0.1)
    assert strategy.exposure_scale == 1 / 512


# ---------------------------------------------------------------------------------------- mgm
SMALL = {"num_frames": 8, "image_size": 64, "patch_size": 8, "tubelet_size": 2}  # 4 x 8 x 8 tokens


def masked_centroid(frame_mask: torch.Tensor) -> torch.Tensor:
    """(h, w) bool -> (x, y) mean token centre of the masked tokens."""
    ys, xs = torch.nonzero(frame_mask, as_tuple=True)
    return torch.stack([xs.float().mean() + 0.5, ys.float().mean() + 0.5])


def still_blob() -> torch.Tensor:
    """(1, 8, 8, 8, 2) 8-px motion vectors: a 2 x 2-cell blob at cells x 5-6, y 5-6 in every frame."""
    motion = torch.zeros(1, 8, 8, 8, 2)
    motion[0, :, 5:7, 5:7, 0] = 8.0
    return motion


def test_mgm_first_step_is_random_and_later_steps_follow_the_motion():
    # Eq. 7: the t0 rectangle is placed at random, the motion guides it from t = 1 on.
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0)  # a 4 x 4 rectangle
    peak = torch.tensor([6.0, 6.0])  # the blob's centre, in tokens
    firsts = []
    for seed in range(30):
        masks = strategy(1, motion=still_blob(), generator=seeded(seed)).view(4, 8, 8)
        firsts.append(masked_centroid(masks[0]))
        for step in range(1, 4):
            assert torch.allclose(masked_centroid(masks[step]), peak, atol=0.5), (seed, step)
    firsts = torch.stack(firsts)
    assert (firsts.std(dim=0) > 0.8).all()  # uniform over [2, 6] has sd 1.15
    assert (firsts - peak).norm(dim=1).mean() > 1.5
    assert firsts.min() >= 2 - 1e-6 and firsts.max() <= 6 + 1e-6  # x0 ~ U(0, w - w0): inside the frame


def test_mgm_initial_position_motion_centres_the_first_step_on_the_motion():
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0, initial_position="motion")
    for seed in range(5):
        masks = strategy(1, motion=still_blob(), generator=seeded(seed)).view(4, 8, 8)
        assert torch.allclose(masked_centroid(masks[0]), torch.tensor([6.0, 6.0]), atol=0.5)


def test_mgm_default_threshold_ignores_quarter_pel_encoder_noise():
    # H.264 quarter-pel noise (0.25 px) in a corner is not motion: a static clip keeps its random t0
    # rectangle, and after a real move (1 px per frame, tubelet 1 only) the rectangle stays where the
    # move was instead of jumping to the noise.
    strategy = make("mgm", SMALL, mask_ratio=0.25, size_jitter=0.0)
    noise = torch.zeros(1, 8, 8, 8, 2)
    noise[0, 1::2, 0, 7, 0] = 0.25  # one noisy block in the top-right corner
    masks = strategy(1, motion=noise, generator=seeded(3)).view(4, 8, 8)
    assert (masks == masks[:1]).all()
    moving = noise.clone()
    moving[0, 2:4, 6, 1, 0] = 1.0  # frames 2-3: a block at the bottom left moves 1 px per frame
    masks = strategy(1, motion=moving, generator=seeded(3)).view(4, 8, 8)
    for step in (1, 2, 3):
        assert torch.allclose(masked_centroid(masks[step]), torch.tensor([2.0, 6.0]), atol=0.5), step


# ----------------------------------------------------------------------------------- smm / mgm
BIG = {"num_frames": 16, "image_size": 224, "patch_size": 16, "tubelet_size": 2}  # 8 x 14 x 14 tokens


def per_step_counts(strategy, clips: int = 64, **kwargs) -> torch.Tensor:
    mask = strategy(clips, generator=seeded(), **kwargs)
    assert (mask.sum(dim=1) == strategy.num_masked).all()  # every row holds the same count
    return mask.view(clips, 8, 196).sum(dim=-1)  # (B, 8)


def test_smm_scale_jitter_changes_the_per_step_counts_at_a_fixed_clip_count():
    jittered = make("smm", BIG, scale_jitter=0.3)
    plain = make("smm", BIG, scale_jitter=0.0)
    counts = per_step_counts(jittered)
    spread = (counts.max(dim=1).values - counts.min(dim=1).values).float()
    assert spread.mean() > 10  # eq. 5's area changes move tokens between steps
    assert counts.max() < 196 and counts.min() > 0  # no time step fully masked or fully visible
    plain_counts = per_step_counts(plain)
    assert (plain_counts.max(dim=1).values - plain_counts.min(dim=1).values).max() <= 1  # rounding only
    assert not torch.equal(jittered(4, generator=seeded()), plain(4, generator=seeded()))


def test_smm_count_frame_rejects_a_jitter_it_cannot_apply():
    with pytest.raises(ValueError, match="scale_jitter"):
        make("smm", BIG, count="frame", scale_jitter=0.1)
    counts = per_step_counts(make("smm", BIG, count="frame", scale_jitter=0.0))
    assert (counts == 176).all()


def test_mgm_clip_count_without_jitter_is_even_over_steps():
    # Without jitter every step's rectangle has the same area, so the clip total splits evenly,
    # also for rectangles pushed against the border by the motion (here: the top-left corner).
    strategy = make("mgm", BIG, size_jitter=0.0, count="clip")
    motion = torch.zeros(64, 16, 28, 28, 2)
    motion[:, :, 0, 0, 0] = 4.0
    counts = per_step_counts(strategy, motion=motion)
    assert (counts.max(dim=1).values - counts.min(dim=1).values).max() <= 1


def test_allocate_counts_follows_the_areas_and_keeps_the_total():
    from mgm_hf.masking.rectangles import allocate_counts

    counts = allocate_counts(torch.tensor([[1.0, 2.0, 3.0, 2.0]]), total=16, capacity=100)
    assert counts.tolist() == [[2, 4, 6, 4]]  # proportional: 16 * area / 8
    counts = allocate_counts(torch.tensor([[1.0, 3.0]]), total=160, capacity=100)
    # proportional would be 40 / 120 > 99: the deviation (+-40) is scaled to fit, 80 +- 19
    assert counts.tolist() == [[61, 99]]


# ------------------------------------------------------------------- mgmae before the base frame
def square_motion(frames: int = 8, size: int = 64, side: int = 32, speed: int = 8, x_start: int = 0):
    """Exact motion and reverse motion (1, T, size, size, 2) of a square moving right on a still
    background: frame t holds it at x in [x_start + speed t, + side), y in [16, 48)."""
    motion = torch.zeros(1, frames, size, size, 2)
    reverse = torch.zeros(1, frames, size, size, 2)
    for t in range(frames):
        x0 = x_start + speed * t
        if t > 0:
            motion[0, t, 16:48, max(x0, 0) : min(x0 + side, size), 0] = speed  # moved since t-1
        if t < frames - 1:
            reverse[0, t, 16:48, max(x0, 0) : min(x0 + side, size), 0] = -speed  # moved since t+1
    return motion, reverse


def test_mgmae_before_the_base_the_trailing_strip_follows_the_object_with_the_reverse_motion():
    # Frame 3 -> 4: the square covers x in [24, 56) at frame 3 and [32, 64) at 4. The strip x in
    # [24, 32) is the square at 3 but background at 4: eq. 2 samples M_4 at p + 8 px there (it is
    # the square, which moves), while inverting motion[4] gives 0 px (it is background at 4).
    strategy = make("mgmae", MGMAE, mask_ratio=0.5, initial_map="pixel_random", map_stride=4,
                    hole_fill="invisible")
    motion, reverse = square_motion()
    direct = strategy.build_volume(motion, seeded(), reverse_motion=reverse)[0]  # (8, 16, 16) 4-px cells
    rows, strip = slice(4, 12), slice(6, 8)  # square rows y 16-48, strip x 24-32 px
    assert torch.equal(direct[3, rows, strip], direct[4, rows, slice(8, 10)])  # moved with the square
    inverted = strategy.build_volume(motion, seeded())[0]  # motion alone: the documented approximation
    assert torch.equal(inverted[3, rows, strip], inverted[4, rows, strip])
    assert not torch.equal(direct[3, rows, strip], inverted[3, rows, strip])
    # Inside the square and on the still background both agree.
    assert torch.equal(direct[3, rows, 8:14], inverted[3, rows, 8:14])
    assert torch.equal(direct[3, :4], inverted[3, :4])


def test_mgmae_estimates_the_reverse_motion_from_pixels_with_the_flow_backend():
    from mgm_hf.video.flow import estimate_flow_batch
    from mgm_hf.video.synthetic import moving_square_frames

    frames, _ = moving_square_frames(num_frames=8, size=(64, 64), square_size=24, velocity=(4.0, 0.0))
    pixels = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)  # (1, T, C, H, W)
    strategy = make("mgmae", MGMAE, mask_ratio=0.75, flow_method="dis")
    assert strategy.reverse_motion_frames() == (0, 5)  # base frame 4: the flows 0->1, ..., 3->4
    reverse = strategy.estimate_reverse_motion(pixels)
    expected = estimate_flow_batch(pixels[:, :5].flip(1), method="dis").flip(1)
    assert torch.equal(reverse[:, :5], expected) and not reverse[:, 4:].any()
    direct = torch.from_numpy(np.stack([estimate_flow_batch(pixels[:, [t + 1, t]], method="dis")[0, 1]
                                        for t in range(4)]))
    assert torch.equal(reverse[0, :4], direct)  # reverse_motion[t]: the flow from frame t+1 to t
    motion = estimate_flow_batch(pixels, method="dis")
    assert torch.equal(
        strategy(1, pixel_values=pixels, generator=seeded()),
        strategy(1, motion=motion, reverse_motion=reverse, generator=seeded()),
    )


def test_reverse_motion_is_rejected_by_strategies_that_do_not_use_it():
    strategy = make("mgm", SMALL)
    with pytest.raises(ValueError, match="reverse_motion"):
        strategy(1, motion=still_blob(), reverse_motion=still_blob(), generator=seeded())
