"""Joint transforms move frames and motion together: checked against a square with known motion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgm_hf.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CropBox,
    MultiScaleCrop,
    RandomHorizontalFlip,
    center_crop,
    crop,
    crop_motion,
    eval_transforms,
    finetune_transform,
    hflip,
    multi_scale_crop_offsets,
    pretrain_transform,
    resize,
    resize_motion_grid,
    resized_crop,
    sample_multi_scale_crop,
    sample_random_resized_crop,
    three_crop_boxes,
    to_float_tchw,
)
from mgm_hf.video.synthetic import moving_square_frames, moving_square_motion

SIZE = (48, 64)  # (H, W)
SQUARE = 8
VELOCITY = (3.0, 0.0)


@pytest.fixture(scope="module")
def square():
    """Bright square on a dark background moving right 3 px/frame: frames uint8 (T, H, W, 3) and its
    true motion (T, H, W, 2) on the full-resolution grid."""
    frames, positions = moving_square_frames(
        num_frames=4, size=SIZE, square_size=SQUARE, velocity=VELOCITY, start=(10, 20), background="flat"
    )
    frames = frames.copy()
    frames[frames != 128] = 255  # make the square bright and the background dark
    frames[frames == 128] = 0
    motion = moving_square_motion(positions, SIZE, SQUARE, first="velocity")
    return torch.from_numpy(frames), torch.from_numpy(motion), positions


def centroid(mask: torch.Tensor) -> tuple[float, float]:
    """(x, y) centre of the True pixels of a 2-D mask."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    return xs.float().mean().item(), ys.float().mean().item()


def bright(frames: torch.Tensor, t: int) -> torch.Tensor:
    return frames[t, ..., 0].float() > 127


def moving(motion: torch.Tensor, t: int) -> torch.Tensor:
    return motion[t].norm(dim=-1) > 0.5


def test_fixture_matches_truth(square):
    frames, motion, positions = square
    x, y = centroid(bright(frames, 2))
    assert (x, y) == pytest.approx((positions[2][0] + SQUARE / 2 - 0.5, positions[2][1] + SQUARE / 2 - 0.5))
    assert torch.equal(bright(frames, 2), moving(motion, 2))


def test_hflip_mirrors_dot_and_negates_dx(square):
    frames, motion, _ = square
    out_f, out_m = hflip(frames, motion)
    width = SIZE[1]
    x, y = centroid(bright(frames, 1))
    fx, fy = centroid(bright(out_f, 1))
    assert (fx, fy) == pytest.approx((width - 1 - x, y))
    # Motion sits at the mirrored place, pointing left.
    mx, my = centroid(moving(out_m, 1))
    assert (mx, my) == pytest.approx((fx, fy))
    vectors = out_m[1][moving(out_m, 1)]
    assert torch.allclose(vectors, torch.tensor([-VELOCITY[0], 0.0]))
    # Flipping twice is the identity.
    back_f, back_m = hflip(out_f, out_m)
    assert torch.equal(back_f, frames) and torch.equal(back_m, motion)


def test_hflip_channels_first_float(square):
    frames, motion, _ = square
    tchw = to_float_tchw(frames)
    out_f, _ = hflip(tchw, motion)
    expected, _ = hflip(frames, motion)
    assert torch.allclose(out_f, to_float_tchw(expected))


def test_resize_doubles_motion_and_moves_dot(square):
    frames, motion, _ = square
    out_f, out_m = resize(frames, motion, (SIZE[0] * 2, SIZE[1] * 2))
    assert out_f.shape == (4, SIZE[0] * 2, SIZE[1] * 2, 3) and out_f.dtype == torch.uint8
    assert out_m.shape == (4, SIZE[0] * 2, SIZE[1] * 2, 2)  # grid scaled like the frame
    x, y = centroid(bright(frames, 1))
    fx, fy = centroid(bright(out_f, 1))
    assert (fx, fy) == pytest.approx((2 * x + 0.5, 2 * y + 0.5), abs=0.3)
    # Inside the square the motion is exactly twice the true motion.
    inside = out_m[1][bright(out_f, 1)]
    assert torch.allclose(inside.median(dim=0).values, torch.tensor([2 * VELOCITY[0], 0.0]))
    assert out_m[1].abs().max() == pytest.approx(2 * VELOCITY[0], abs=1e-4)


def test_resize_anisotropic_scales_each_axis():
    motion = torch.ones(2, 6, 8, 2)
    frames = torch.zeros(2, 48, 64, 3, dtype=torch.uint8)
    out_f, out_m = resize(frames, motion, (24, 128), motion_size=(3, 5))
    assert out_f.shape == (2, 24, 128, 3)
    assert out_m.shape == (2, 3, 5, 2)
    assert torch.allclose(out_m[..., 0], torch.full((2, 3, 5), 2.0))  # dx × 128/64
    assert torch.allclose(out_m[..., 1], torch.full((2, 3, 5), 0.5))  # dy × 24/48


def test_resize_short_side_keeps_aspect(square):
    frames, motion, _ = square
    out_f, out_m = resize(frames, motion[:, ::8, ::8], 24)  # 8-px grid, 6 × 8
    assert out_f.shape == (4, 24, 32, 3)
    assert out_m.shape == (4, 3, 4, 2)
    assert out_m[..., 0].max() <= VELOCITY[0] / 2 + 1e-5  # shrunk by 2


def test_crop_shifts_dot_not_motion(square):
    frames, motion, _ = square
    box = CropBox(top=8, left=12, height=32, width=40)
    out_f, out_m = crop(frames, motion, box)
    assert out_f.shape == (4, 32, 40, 3) and out_m.shape == (4, 32, 40, 2)
    x, y = centroid(bright(frames, 2))
    assert centroid(bright(out_f, 2)) == pytest.approx((x - 12, y - 8))
    assert centroid(moving(out_m, 2)) == pytest.approx((x - 12, y - 8))
    assert torch.allclose(out_m[2][moving(out_m, 2)], torch.tensor(VELOCITY))


def test_crop_motion_grid_rounding():
    # 8 × 8 grid of 8-px cells over a 64 × 64 frame; each cell holds its (column, row) index.
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    motion = torch.stack([xs, ys], dim=-1)[None]
    # Edges 13 → 1.625 cells (→ 2) and 13 + 30 = 43 → 5.375 (→ 5); 4 → 0.5 (halves round down → 0).
    out = crop_motion(motion, CropBox(top=4, left=13, height=30, width=30), (64, 64))
    assert out.shape == (1, 4, 3, 2)
    assert out[0, 0, 0].tolist() == [2.0, 0.0] and out[0, -1, -1].tolist() == [4.0, 3.0]
    # A crop thinner than a cell still keeps one cell.
    assert crop_motion(motion, CropBox(0, 0, 2, 2), (64, 64)).shape == (1, 1, 1, 2)


def test_resized_crop_keeps_motion_on_the_square(square):
    frames, motion, _ = square
    box = CropBox(top=10, left=8, height=32, width=32)
    out_f, out_m = resized_crop(frames, motion[:, ::4, ::4], box, 64, motion_size=(16, 16))
    assert out_f.shape == (4, 64, 64, 3) and out_m.shape == (4, 16, 16, 2)
    # Strongest motion cell lies on the square (grid cell = 4 output pixels); dx doubled by ×2.
    t = 2
    cell = int(out_m[t].norm(dim=-1).flatten().argmax())
    cy, cx = divmod(cell, 16)
    assert bool(bright(out_f, t)[cy * 4 + 2, cx * 4 + 2])
    assert out_m[t, cy, cx].tolist() == pytest.approx([2 * VELOCITY[0], 0.0])


def test_center_and_three_crop_boxes():
    assert three_crop_boxes(48, 64, 48) == [CropBox(0, 0, 48, 48), CropBox(0, 8, 48, 48), CropBox(0, 16, 48, 48)]
    assert three_crop_boxes(80, 40, 40)[2] == CropBox(40, 0, 40, 40)
    frames = torch.arange(2 * 6 * 8 * 3, dtype=torch.uint8).view(2, 6, 8, 3)
    out, motion = center_crop(frames, None, 4)
    assert motion is None and torch.equal(out, frames[:, 1:5, 2:6])


def test_multi_scale_crop_boxes_follow_videomae():
    height, width = 240, 320
    allowed_sides = {int(240 * s) for s in (1.0, 0.875, 0.75, 0.66)}
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(200):
        box = sample_multi_scale_crop(height, width, 224, generator=g)
        assert box.height in allowed_sides and box.width in allowed_sides
        assert (box.top, box.left) in multi_scale_crop_offsets(height, width, box.height, box.width)
        idx = sorted((box.height, box.width))
        assert abs(sorted(allowed_sides).index(idx[0]) - sorted(allowed_sides).index(idx[1])) <= 1
        seen.add((box.height, box.width))
    assert len(seen) >= 8  # all 10 pairs with |i - j| <= 1 are reachable


def test_sampling_is_seedable_with_torch_and_numpy():
    a = [sample_multi_scale_crop(100, 150, 64, generator=torch.Generator().manual_seed(3)) for _ in range(2)]
    assert a[0] == a[1]
    b = [sample_random_resized_crop(100, 150, generator=np.random.default_rng(7)) for _ in range(2)]
    assert b[0] == b[1]
    for seed in range(50):
        box = sample_random_resized_crop(100, 150, generator=torch.Generator().manual_seed(seed))
        box.check(100, 150)
        assert box.height * box.width >= 0.08 * 100 * 150 * 0.9


def test_flip_flag_disables_flip(square):
    frames, motion, _ = square
    never = RandomHorizontalFlip(p=1.0, enabled=False)
    always = RandomHorizontalFlip(p=1.0)
    assert torch.equal(never(frames, motion)[1], motion)
    assert torch.equal(always(frames, motion)[1], hflip(frames, motion)[1])


def test_pretrain_pipeline_shapes_values_and_seed(square):
    frames, motion, _ = square
    transform = pretrain_transform(size=32, flip=True, motion_cell=8)
    out1 = transform(frames, motion[:, ::4, ::4], torch.Generator().manual_seed(1))
    out2 = transform(frames, motion[:, ::4, ::4], torch.Generator().manual_seed(1))
    assert out1[0].shape == (4, 3, 32, 32) and out1[0].dtype == torch.float32
    assert out1[1].shape == (4, 4, 4, 2)
    assert torch.equal(out1[0], out2[0]) and torch.equal(out1[1], out2[1])
    # A black pixel normalises to -mean / std.
    black = -torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(out1[0].amin(dim=(0, 2, 3)), black, atol=1e-5)
    white = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(out1[0].amax(dim=(0, 2, 3)), white, atol=1e-5)


def test_pretrain_without_flip_never_negates_dx(square):
    frames, motion, _ = square
    transform = pretrain_transform(size=32, flip=False)
    for seed in range(10):
        _, out_m = transform(frames, motion, torch.Generator().manual_seed(seed))
        assert out_m[..., 0].min() >= -1e-5  # the square only moves right


def test_finetune_and_eval_pipelines(square):
    frames, motion, _ = square
    out_f, out_m = finetune_transform(size=32)(frames, motion, torch.Generator().manual_seed(0))
    assert out_f.shape == (4, 3, 32, 32) and out_m.shape == (4, 4, 4, 2)
    views = eval_transforms(size=32, num_crops=3)
    outs = [v(frames, motion) for v in views]
    assert all(f.shape == (4, 3, 32, 32) and m.shape == (4, 4, 4, 2) for f, m in outs)
    # Resize 48×64 → 32×43 (short side 32): motion scaled by 32/48 in both axes.
    assert max(m[..., 0].max().item() for _, m in outs) <= VELOCITY[0] * 32 / 48 + 1e-4
    assert not torch.equal(outs[0][0], outs[2][0])  # left and right views differ


def test_multi_scale_crop_module_without_motion():
    frames = torch.randint(0, 255, (2, 40, 60, 3), dtype=torch.uint8)
    out_f, out_m = MultiScaleCrop(24)(frames)
    assert out_f.shape == (2, 24, 24, 3) and out_m is None


def test_resize_motion_grid_keeps_values():
    motion = torch.full((1, 8, 8, 2), 5.0)
    assert torch.allclose(resize_motion_grid(motion, (3, 2)), torch.full((1, 3, 2, 2), 5.0))
    assert resize_motion_grid(motion, (16, 16), "nearest").shape == (1, 16, 16, 2)


def test_bad_inputs_raise():
    frames = torch.zeros(2, 8, 8, 3, dtype=torch.uint8)
    with pytest.raises(ValueError, match="does not fit"):
        crop(frames, None, CropBox(0, 4, 8, 8))
    with pytest.raises(ValueError, match="motion must be"):
        hflip(frames, torch.zeros(3, 2, 2, 2))
