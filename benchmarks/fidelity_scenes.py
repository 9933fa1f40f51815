"""Fidelity dataset v3, one scene: a panning camera, one labelled actor, 1–2 distractors.

A scene is rendered with exact, integer per-pixel motion (mgm_hf's convention: ``motion[t, y, x]``
= how far the content at (x, y) of frame t moved since frame t-1):

* **Camera.** The background is a textured canvas larger than the frame (a colour ramp plus a
  multi-scale texture); the camera pans with a velocity drawn per axis from U(-``camera_speed``,
  ``camera_speed``) px/frame, *independent of the label*. The camera offset is rounded to whole
  pixels per frame, so every background pixel moves by exactly ``-(C(t) - C(t-1))``.
* **Actor.** One object of random shape (disc, square, triangle, diamond, cross), colour and texture,
  12–18 px. Its label is its motion pattern *relative to the background* (:data:`CLASS_NAMES`):
  constant velocity right / left / up / down, circling clockwise / anticlockwise (on screen, y
  down), moving then stopping, stopping then moving. Its image position is
  ``P0 + round(d(t)) - C(t)`` with ``d(0) = 0``.
* **Distractors.** 1–2 smaller objects (5–8 px) with constant world velocities of up to
  ``distractor_speed`` px/frame in any direction, often faster than the actor, so the strongest
  motion is not always the actor. Depth order of all objects is random.

**Frame 0 does not depend on the label.** Every random number is drawn in the same order whatever
the label (the parameters of every class are drawn for every scene), the actor's trajectory is
anchored at frame 0 (``d(0) = 0``) and its frame-0 position is drawn from a range that keeps every
class's trajectory in view for the drawn camera: ``render_scene(seed, a)`` and
``render_scene(seed, b)`` have bit-identical first frames. So one frame cannot tell the classes
apart, except through where the actor has got to in later frames (a weak cue: at most 10 px).

A *lead-in* frame (t = -1) is rendered too, so that an H.264 encode gives frame 0 real motion
vectors; the clip is frames 0..T-1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mgm_hf.video.synthetic import linear_gradient, random_texture

CLASS_NAMES: tuple[str, ...] = (
    "right", "left", "up", "down", "circle_cw", "circle_ccw", "move_then_stop", "stop_then_move",
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
    actor_size: tuple[int, int] = (12, 18)
    actor_speed: tuple[float, float] = (1.0, 1.4)  # right/left/up/down
    circle_radius: tuple[float, float] = (3.0, 5.0)
    circle_rate: tuple[float, float] = (0.5, 0.8)  # rad/frame: 3.5-5.6 rad over 7 steps
    switch_speed: tuple[float, float] = (1.5, 2.5)  # move_then_stop / stop_then_move
    distractor_size: tuple[int, int] = (5, 8)
    distractor_speed: tuple[float, float] = (0.5, 3.5)
    num_distractors: tuple[int, int] = (1, 2)
    texture_sigma: float = 6.0  # background texture scales: sigma, 3 sigma, 8 sigma px
    texture_weight: float = 0.25  # background = (1 - w - d) colour ramp + w texture + d detail
    detail_weight: float = 0.0  # d: fine texture (sigma 1 px) for the codec's block matching

    @property
    def switch_frame(self) -> int:
        """Frame at which move_then_stop stops and stop_then_move starts."""
        return self.num_frames // 2

    @property
    def actor_reach(self) -> int:
        """Largest |round(d(t))| per axis of any class on frames 0..T-1 (bounds the frame-0 range)."""
        steps = self.num_frames - 1
        linear = self.actor_speed[1] * steps
        circle = 2 * self.circle_radius[1]
        switch = self.switch_speed[1] * max(self.switch_frame, steps - self.switch_frame)
        return math.ceil(max(linear, circle, switch))

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


def _sprite(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    colour = rng.uniform(20, 235, size=3).astype(np.float32)
    texture = random_texture(side, side, sigma=1.0, seed=int(rng.integers(2**31 - 1))).astype(np.float32)
    mix = float(rng.uniform(0.3, 0.6))
    return (1 - mix) * colour + mix * texture, _shape_mask(shape, side)


def _actor_paths(rng: np.random.Generator, spec: SceneSpec, times: np.ndarray) -> list[np.ndarray]:
    """World displacement d(t) (len(times), 2) of every class, all drawn whatever the label."""
    speed = rng.uniform(*spec.actor_speed)
    radius, rate, phase = rng.uniform(*spec.circle_radius), rng.uniform(*spec.circle_rate), rng.uniform(0, 2 * np.pi)
    switch_speed, heading = rng.uniform(*spec.switch_speed), rng.uniform(0, 2 * np.pi)
    t = times[:, None].astype(np.float64)
    direction = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1)}
    paths = [speed * t * np.asarray(direction[name], np.float64) for name in CLASS_NAMES[:4]]
    for sense in (1.0, -1.0):  # image y points down: increasing angle turns clockwise on screen
        angle = phase + sense * rate * times
        circle = radius * np.stack([np.cos(angle) - np.cos(phase), np.sin(angle) - np.sin(phase)], -1)
        paths.append(circle)
    unit = np.array([np.cos(heading), np.sin(heading)])
    switch = spec.switch_frame
    paths.append(switch_speed * np.minimum(t, switch) * unit)  # move, then stop at the switch frame
    paths.append(switch_speed * np.maximum(t - switch, 0) * unit)  # still, then move from it
    return paths


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
    canvas = ((1 - spec.texture_weight - spec.detail_weight) * ramp + spec.texture_weight * texture.astype(np.float32)
              + spec.detail_weight * detail.astype(np.float32))

    camera = rng.uniform(-spec.camera_speed, spec.camera_speed, size=2)
    offsets = np.rint(times[:, None] * camera[None, :]).astype(np.int64)  # (T + 1, 2) camera offset C(t)

    # Actor: frame-0 position drawn so every class stays in view given this camera (label-free range).
    actor_side = int(rng.integers(spec.actor_size[0], spec.actor_size[1] + 1))
    actor_pixels, actor_alpha = _sprite(rng, actor_side)
    reach = spec.actor_reach
    clip_offsets = offsets[1:]
    low = reach + clip_offsets.max(0)  # image x = P0 + d - C must stay >= 0
    high = size - actor_side - reach + clip_offsets.min(0)
    if np.any(high < low):
        raise ValueError(f"SceneSpec leaves no room for the actor: {spec}")
    start = np.array([rng.integers(low[i], high[i] + 1) for i in range(2)])
    paths = _actor_paths(rng, spec, times)
    sprites = [_Sprite(actor_pixels, actor_alpha, start, np.rint(paths[label]).astype(np.int64))]

    for _ in range(int(rng.integers(spec.num_distractors[0], spec.num_distractors[1] + 1))):
        side = int(rng.integers(spec.distractor_size[0], spec.distractor_size[1] + 1))
        pixels, alpha = _sprite(rng, side)
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


__all__ = ["ACTOR", "BACKGROUND", "CLASS_NAMES", "NUM_CLASSES", "SHAPES", "Scene", "SceneSpec", "render_scene"]
