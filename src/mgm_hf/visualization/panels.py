"""Rows of a visualisation: the frames, their motion, the mask, the masked input, the reconstruction.

A :class:`Panel` is one named row, uint8 ``(T, H, W, 3)``. :func:`clip_panels` builds the rows of a
clip; :func:`compose_grid` lays them out as one picture (rows × frames, names in a left column) and
:func:`compose_frames` as a video (one picture per frame, rows stacked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw

from mgm_hf.mask_metrics.tokens import token_mask_to_pixels
from mgm_hf.masking import MaskGeometry

from .flow_colors import draw_arrows, flow_to_color

LABEL_WIDTH = 112  # pixels of the name column
MASK_COLOR = np.array([230, 40, 40], np.float32)  # masked tokens in the mask row
HIDDEN_GREY = 128  # masked tokens in the encoder-input row


@dataclass
class Panel:
    """One row: ``name`` and uint8 ``frames`` (T, H, W, 3)."""

    name: str
    frames: np.ndarray


def pixel_mask(mask: torch.Tensor | np.ndarray, geometry: MaskGeometry) -> np.ndarray:
    """(L,) bool tokens -> bool (T, H, W) pixels, True = masked."""
    tokens = torch.as_tensor(np.asarray(mask)).bool()[None]
    return token_mask_to_pixels(tokens, geometry)[0].numpy()


def mask_panel(frames: np.ndarray, hidden: np.ndarray) -> Panel:
    """Frames dimmed and tinted red where masked (hidden: bool (T, H, W))."""
    tinted = frames.astype(np.float32)
    tinted[hidden] = 0.35 * tinted[hidden] + 0.65 * MASK_COLOR
    return Panel("mask (red)", tinted.round().astype(np.uint8))


def masked_input_panel(frames: np.ndarray, hidden: np.ndarray) -> Panel:
    """What the encoder sees: masked tokens replaced by grey."""
    out = frames.copy()
    out[hidden] = HIDDEN_GREY
    return Panel("encoder input", out)


def motion_panels(frames: np.ndarray, motion: np.ndarray, arrows: bool = True) -> list[Panel]:
    """Colour-coded motion (one colour scale for the clip), and optionally arrows over the frames.

    Args:
        frames: uint8 (T, H, W, 3).
        motion: float (T, h, w, 2) in pixels, any grid.
    """
    t, height, width = frames.shape[:3]
    colours = flow_to_color(motion)  # (T, h, w, 3), one max over the clip
    colours = np.stack([cv2.resize(c, (width, height), interpolation=cv2.INTER_NEAREST) for c in colours])
    panels = [Panel("motion (colour)", colours)]
    if arrows:
        speed = float(np.hypot(motion[..., 0], motion[..., 1]).max())
        cell = min(height / motion.shape[1], width / motion.shape[2])
        scale = 0.9 * cell / speed if speed > 0 else 1.0
        panels.append(Panel("motion (arrows)", np.stack([draw_arrows(frames[i], motion[i], scale) for i in range(t)])))
    return panels


def clip_panels(frames: np.ndarray, mask: torch.Tensor | np.ndarray, geometry: MaskGeometry,
                motion: np.ndarray | None = None, reconstruction: np.ndarray | None = None,
                arrows: bool = True) -> list[Panel]:
    """All rows for a clip: frames, [motion colour, [arrows]], mask, encoder input, [reconstruction].

    Args:
        frames: uint8 (T, H, W, 3), T and (H, W) those of ``geometry``.
        mask: (L,) bool, True = masked.
        motion: float (T, h, w, 2) or None (no motion rows).
        reconstruction: uint8 (T, H, W, 3) or None (no reconstruction row).
    """
    hidden = pixel_mask(mask, geometry)
    if hidden.shape != frames.shape[:3]:
        raise ValueError(f"mask covers {hidden.shape}, frames are {frames.shape[:3]}.")
    panels = [Panel("frames", frames)]
    if motion is not None:
        panels += motion_panels(frames, motion, arrows)
    panels += [mask_panel(frames, hidden), masked_input_panel(frames, hidden)]
    if reconstruction is not None:
        panels.append(Panel("reconstruction", reconstruction))
    return panels


def _upscale(frames: np.ndarray, scale: int) -> np.ndarray:
    return frames if scale == 1 else frames.repeat(scale, axis=-3).repeat(scale, axis=-2)


def _label(name: str, height: int) -> np.ndarray:
    image = Image.new("RGB", (LABEL_WIDTH, height), (255, 255, 255))
    ImageDraw.Draw(image).text((4, max(0, height // 2 - 6)), name, fill=(0, 0, 0))
    return np.asarray(image)


def default_scale(height: int) -> int:
    """Integer upscaling so a panel is at least 112 pixels tall."""
    return max(1, -(-112 // height))


def compose_grid(panels: Sequence[Panel], scale: int = 1) -> np.ndarray:
    """One picture: a row per panel, a column per frame, the names on the left.

    Returns:
        uint8 (R * H * scale, LABEL_WIDTH + T * W * scale, 3).
    """
    rows = []
    for panel in panels:
        frames = _upscale(panel.frames, scale)
        strip = np.concatenate(list(frames), axis=1)  # (H, T * W, 3)
        rows.append(np.concatenate([_label(panel.name, strip.shape[0]), strip], axis=1))
    return np.concatenate(rows, axis=0)


def compose_frames(panels: Sequence[Panel], scale: int = 1) -> np.ndarray:
    """A video: frame t stacks every row's frame t, names on the left.

    Returns:
        uint8 (T, R * H * scale, LABEL_WIDTH + W * scale, 3).
    """
    columns = []
    for panel in panels:
        frames = _upscale(panel.frames, scale)
        label = _label(panel.name, frames.shape[1])
        columns.append(np.concatenate([np.broadcast_to(label, (len(frames), *label.shape)), frames], axis=2))
    return np.concatenate(columns, axis=1)


__all__ = ["LABEL_WIDTH", "Panel", "clip_panels", "compose_frames", "compose_grid", "default_scale",
           "mask_panel", "masked_input_panel", "motion_panels", "pixel_mask"]
