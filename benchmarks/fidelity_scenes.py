"""Fidelity dataset v3, one scene: a panning camera, one labelled actor, 1–2 distractors.

A scene is rendered with exact, integer per-pixel motion (mgm_hf's convention: ``motion[t, y, x]``
= how far the content at (x, y) of frame t moved since frame t-1):

* **Camera.** The background is a canvas larger than the frame: a colour ramp, a smooth multi-scale
  texture and two crossed sinusoidal gratings (periods 12–24 px: they make the pan visible to the
  model and to the codec's block matching), dimmed by ``background_gain``; the camera pans with a
  velocity drawn per axis from U(-``camera_speed``, ``camera_speed``) px/frame, *independent of the
  label*. The camera offset is rounded to whole
  pixels per frame, so every background pixel moves by exactly ``-(C(t) - C(t-1))``.
* **Actor.** One object of random shape (disc, square, triangle, diamond, cross), colour and texture,
  16–20 px, brighter than any background pixel (channels drawn from ``actor_level``, the background
  dimmed by ``background_gain``): a fixed contrast polarity, so a direction of motion is a *linear*
  function of a tubelet's pixels (with random polarity a from-scratch tiny ViT fine-tuned on 320
  clips stayed at chance; see ``fidelity.py``). Its label is its direction of motion *relative to the
  background* (:data:`CLASS_NAMES`: the 8 compass directions, angle ``k · 45°`` on screen, y down) at a
  constant speed drawn from ``actor_speed``, so ``d(t) = s · t · (cos, sin)(k · 45°)``. Its image
  position is ``P0 + round(d(t)) - C(t)`` with ``d(0) = 0``: on screen the camera's pan adds to it,
  so the label is the actor's motion minus the background's.
* **Distractors.** 1–2 smaller objects (5–8 px, drawn like the actor) with constant world velocities of
  up to ``distractor_speed`` px/frame in any direction, often faster than the actor, so the strongest
  motion is not always the actor. Depth order of all objects is random.

**Frame 0 does not depend on the label.** Every random number is drawn in the same order whatever
the label, the actor's trajectory is anchored at frame 0 (``d(0) = 0``) and its frame-0 position is
drawn from a range that keeps every class's trajectory in view for the drawn camera:
``render_scene(seed, a)`` and ``render_scene(seed, b)`` have bit-identical first frames. So one frame
cannot tell the classes apart, except through where the actor has got to in later frames (up to
14 px from where it started: a linear probe on the middle frame's pixels reaches 0.36–0.40 in pilots,
on frame 0's chance, 0.11–0.13).

**Symmetry.** A transpose or a flip of the frames maps a direction class to another one
(:func:`symmetry_augment`), which the fine-tune uses as label-preserving augmentation.

A *lead-in* frame (t = -1) is rendered too, so that an H.264 encode gives frame 0 real motion
vectors; the clip is frames 0..T-1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mgm_hf.video.synthetic import linear_gradient, random_texture

CLASS_NAMES: tuple[str, ...] = (  # class k: direction k · 45° on screen (image y points down)
    "right", "down_right", "down", "down_left", "left", "up_left", "up", "up_right",
)
NUM_CLASSES = len(CLASS_NAMES)
SHAPES: tuple[str, ...] = ("disc", "square", "triangle", "diamond", "cross")
BACKGROUND = 0  # layer id of the background; the actor is 1, distractors 2, 3, ...
ACTOR = 1


@dataclass(frozen=True)
class SceneSpec:
    """Sizes and ranges of a scene (pixels, pixels per frame, radians per frame)."""

    size: int = 64
    num_frames: int = 8
    camera_speed: float = 2.0
    actor_size: tuple[int, int] = (16, 20)
    actor_speed: tuple[float, float] = (1.5, 2.0)  # px/frame relative to the background
    actor_level: tuple[float, float] = (180.0, 255.0)  # colour channels of the actor and distractors
    sprite_texture_mix: tuple[float, float] = (0.1, 0.2)  # share of a sprite's own texture
    distractor_size: tuple[int, int] = (5, 8)
    distractor_speed: tuple[float, float] = (0.5, 3.5)
    num_distractors: tuple[int, int] = (1, 2)
    texture_sigma: float = 6.0  # background texture scales: sigma, 3 sigma, 8 sigma px
    texture_weight: float = 0.25  # background = gain · ((1 - w - d - g) colour ramp + w texture + d detail + g gratings)
    detail_weight: float = 0.0  # d: fine texture (sigma 1 px) for the codec's block matching
    background_gain: float = 0.55  # dims the background (ramp 20-234, textures 10-245) below actor_level
    grating_weight: float = 0.4  # g: two crossed sinusoidal gratings (0-255); the ramp gets 1 - w - d - g
    grating_period: tuple[float, float] = (12.0, 24.0)  # px

    @property
    def actor_reach(self) -> int:
        """Largest |round(d(t))| per axis of any class on frames 0..T-1 (bounds the frame-0 range)."""
        return math.ceil(self.actor_speed[1] * (self.num_frames - 1))

    @property
    def canvas_margin(self) -> int:
        """Background canvas border: the camera offset on frames -1..T-1 stays inside it."""
        return math.ceil(self.camera_speed * (self.num_frames - 1)) + 2


@dataclass
class Scene:
    """A rendered scene. Frames and motion cover the lead-in frame (index 0, t = -1) and the clip.

    Attributes:
        frames: uint8 (T + 1, H, W, 3).
        motion: int8 (T + 1, H, W, 2) exact motion (dx, dy) of every pixel since the previous frame
            (index 0: zero; unknown there).
        layers: int8 (T + 1, H, W): which layer each pixel shows (0 background, 1 actor, 2+ distractors).
        label: index into :data:`CLASS_NAMES`.
        actor_steps: int (T + 1, 2) the actor's motion relative to the background per frame (index 0: zero).
        camera: float (2,) the camera velocity, px/frame.
    """

    frames: np.ndarray
    motion: np.ndarray
    layers: np.ndarray
    label: int
    actor_steps: np.ndarray
    camera: np.ndarray


def _shape_mask(shape: str, side: int) -> np.ndarray:
    """(side, side) bool silhouette."""
    yy, xx = (np.mgrid[0:side, 0:side] + 0.5) / side - 0.5  # in [-0.5, 0.5]
    if shape == "disc":
        return xx**2 + yy**2 <= 0.25
    if shape == "square":
        return np.ones((side, side), bool)
    if shape == "triangle":
        return (yy >= -0.5) & (np.abs(xx) <= (yy + 0.5) / 2)
    if shape == "diamond":
        return np.abs(xx) + np.abs(yy) <= 0.5
    if shape == "cross":
        return (np.abs(xx) <= 0.17) | (np.abs(yy) <= 0.17)
    raise ValueError(f"unknown shape {shape!r}; one of {SHAPES}")


@dataclass
class _Sprite:
    pixels: np.ndarray  # (s, s, 3) float32
    alpha: np.ndarray  # (s, s) bool
    start: np.ndarray  # (2,) int, image top-left (x, y) at t = 0
    offsets: np.ndarray  # (T + 1, 2) int, world displacement round(d(t)) for t = -1..T-1


def _sprite(rng: np.random.Generator, side: int, spec: SceneSpec) -> tuple[np.ndarray, np.ndarray]:
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    colour = rng.uniform(*spec.actor_level, size=3).astype(np.float32)
    texture = random_texture(side, side, sigma=1.0, seed=int(rng.integers(2**31 - 1))).astype(np.float32)
    mix = float(rng.uniform(*spec.sprite_texture_mix))
    return (1 - mix) * colour + mix * texture, _shape_mask(shape, side)


def _gratings(rng: np.random.Generator, side: int, period: tuple[float, float]) -> np.ndarray:
    """(side, side, 1) float32 in [0, 255]: the mean of two sinusoidal gratings of random orientation,
    period and phase (smooth, so a masked patch is predictable from its neighbours; high-contrast at
    the patch scale, so the pan shows)."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64)
    total = np.zeros((side, side))
    for _ in range(2):
        angle, length, phase = rng.uniform(0, np.pi), rng.uniform(*period), rng.uniform(0, 2 * np.pi)
        total += np.cos(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / length + phase)
    return (127.5 + 63.75 * total)[..., None].astype(np.float32)


def direction(label: int) -> np.ndarray:
    """(2,) unit vector (dx, dy) of class ``label``: angle ``label · 45°`` on screen (y down)."""
    angle = label * np.pi / 4
    return np.array([np.cos(angle), np.sin(angle)])


def _actor_path(rng: np.random.Generator, spec: SceneSpec, times: np.ndarray, label: int) -> np.ndarray:
    """World displacement d(t) (len(times), 2) of class ``label``; the same draws whatever the label."""
    speed = rng.uniform(*spec.actor_speed)
    return speed * times[:, None].astype(np.float64) * direction(label)[None, :]


# Label maps of the frame symmetries (class k at angle k · 45°): transposing x and y sends angle a to
# 90° - a, mirroring x sends a to 180° - a, mirroring y sends a to -a.
_TRANSPOSE = np.array([(2 - k) % NUM_CLASSES for k in range(NUM_CLASSES)])
_FLIP_X = np.array([(4 - k) % NUM_CLASSES for k in range(NUM_CLASSES)])
_FLIP_Y = np.array([(-k) % NUM_CLASSES for k in range(NUM_CLASSES)])


def symmetry_augment(frames: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each clip through a random one of the 8 symmetries of the square, its label mapped to match.

    Args:
        frames: (B, T, H, W, C) with H = W.
        labels: (B,) int class indices.
        rng: draws 3 coin flips per clip (transpose, mirror x, mirror y), in clip order.

    Returns:
        new (B, T, H, W, C) frames (contiguous) and (B,) labels.
    """
    out, new = np.empty_like(frames), np.asarray(labels).copy()
    for i in range(len(new)):
        clip, label = frames[i], int(new[i])
        transpose, flip_x, flip_y = rng.random(3) < 0.5
        if transpose:
            clip, label = clip.transpose(0, 2, 1, 3), int(_TRANSPOSE[label])
        if flip_x:
            clip, label = clip[:, :, ::-1], int(_FLIP_X[label])
        if flip_y:
            clip, label = clip[:, ::-1], int(_FLIP_Y[label])
        out[i], new[i] = clip, label
    return out, new


def render_scene(seed: int, label: int, spec: SceneSpec = SceneSpec()) -> Scene:
    """Renders scene ``seed`` with the actor moving as class ``label`` (see the module docstring)."""
    if not 0 <= label < NUM_CLASSES:
        raise ValueError(f"label must lie in [0, {NUM_CLASSES}), got {label}.")
    rng = np.random.default_rng(seed)
    size, frames_total = spec.size, spec.num_frames + 1
    times = np.arange(-1, spec.num_frames)  # t = -1 (lead-in) .. T-1
    margin = spec.canvas_margin
    canvas_side = size + 2 * margin
    ramp = linear_gradient(canvas_side, canvas_side, seed=int(rng.integers(2**31 - 1))).astype(np.float32)
    texture = random_texture(canvas_side, canvas_side, sigma=spec.texture_sigma, seed=int(rng.integers(2**31 - 1)))
    detail = random_texture(canvas_side, canvas_side, sigma=1.0, seed=int(rng.integers(2**31 - 1)))
    grating = _gratings(rng, canvas_side, spec.grating_period)
    ramp_weight = 1 - spec.texture_weight - spec.detail_weight - spec.grating_weight
    canvas = spec.background_gain * (ramp_weight * ramp + spec.texture_weight * texture.astype(np.float32)
                                     + spec.detail_weight * detail.astype(np.float32) + spec.grating_weight * grating)

    camera = rng.uniform(-spec.camera_speed, spec.camera_speed, size=2)
    offsets = np.rint(times[:, None] * camera[None, :]).astype(np.int64)  # (T + 1, 2) camera offset C(t)

    # Actor: frame-0 position drawn so every class stays in view given this camera (label-free range).
    actor_side = int(rng.integers(spec.actor_size[0], spec.actor_size[1] + 1))
    actor_pixels, actor_alpha = _sprite(rng, actor_side, spec)
    reach = spec.actor_reach
    clip_offsets = offsets[1:]
    low = reach + clip_offsets.max(0)  # image x = P0 + d - C must stay >= 0
    high = size - actor_side - reach + clip_offsets.min(0)
    if np.any(high < low):
        raise ValueError(f"SceneSpec leaves no room for the actor: {spec}")
    start = np.array([rng.integers(low[i], high[i] + 1) for i in range(2)])
    path = _actor_path(rng, spec, times, label)
    sprites = [_Sprite(actor_pixels, actor_alpha, start, np.rint(path).astype(np.int64))]

    for _ in range(int(rng.integers(spec.num_distractors[0], spec.num_distractors[1] + 1))):
        side = int(rng.integers(spec.distractor_size[0], spec.distractor_size[1] + 1))
        pixels, alpha = _sprite(rng, side, spec)
        angle, speed = rng.uniform(0, 2 * np.pi), rng.uniform(*spec.distractor_speed)
        velocity = speed * np.array([np.cos(angle), np.sin(angle)])
        d_start = rng.integers(-side // 2, size - side // 2, size=2)
        sprites.append(_Sprite(pixels, alpha, d_start, np.rint(times[:, None] * velocity[None, :]).astype(np.int64)))
    depth = rng.permutation(len(sprites))  # drawing order, label-free (back to front)

    out = np.empty((frames_total, size, size, 3), np.uint8)
    motion = np.zeros((frames_total, size, size, 2), np.int8)
    layers = np.zeros((frames_total, size, size), np.int8)
    for k in range(frames_total):
        cx, cy = offsets[k] + margin
        frame = canvas[cy : cy + size, cx : cx + size].copy()
        step_bg = -(offsets[k] - offsets[k - 1]) if k else np.zeros(2, np.int64)
        frame_motion = np.broadcast_to(step_bg, (size, size, 2)).copy()
        layer = np.zeros((size, size), np.int8)
        for index in depth:
            sprite = sprites[index]
            x0, y0 = sprite.start + sprite.offsets[k] - offsets[k]
            side = sprite.alpha.shape[0]
            ys, xs = slice(max(y0, 0), min(y0 + side, size)), slice(max(x0, 0), min(x0 + side, size))
            if ys.start >= ys.stop or xs.start >= xs.stop:
                continue
            local = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
            alpha = sprite.alpha[local]
            frame[ys, xs][alpha] = sprite.pixels[local][alpha]
            if k:
                step = (sprite.offsets[k] - sprite.offsets[k - 1]) - (offsets[k] - offsets[k - 1])
                frame_motion[ys, xs][alpha] = step
            layer[ys, xs][alpha] = index + 1
        out[k] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
        motion[k] = frame_motion.astype(np.int8)
        layers[k] = layer
    actor_steps = np.zeros((frames_total, 2), np.int64)
    actor_steps[1:] = np.diff(sprites[0].offsets, axis=0)
    return Scene(frames=out, motion=motion, layers=layers, label=int(label), actor_steps=actor_steps, camera=camera)


__all__ = ["ACTOR", "BACKGROUND", "CLASS_NAMES", "NUM_CLASSES", "SHAPES", "Scene", "SceneSpec", "direction",
           "render_scene", "symmetry_augment"]
