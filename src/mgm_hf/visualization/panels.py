"""Rows of a visualisation: the frames, their motion, the mask, the masked input, the reconstruction.

A :class:`Panel` is one named row, uint8 ``(T, H, W, 3)``, with an optional legend drawn under its
name. :func:`clip_panels` builds the rows of a clip; :mod:`.layout` lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from mgm_hf.mask_metrics.tokens import token_mask_to_pixels
from mgm_hf.masking import MaskGeometry

from .flow_colors import draw_arrows, flow_to_color, motion_legend

LABEL_WIDTH = 112  # pixels of the name column
MASK_COLOR = np.array([230, 40, 40], np.float32)  # masked tokens in the mask row
HIDDEN_GREY = 128  # masked tokens in the encoder-input row


@dataclass
class Panel:
    """One row: ``name``, uint8 ``frames`` (T, H, W, 3) and an optional uint8 ``legend`` (h, w, 3)
    shown under the name."""

    name: str
    frames: np.ndarray
    legend: np.ndarray | None = None


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
    """Colour-coded motion (one colour scale for the clip, with its colour-wheel legend), and
    optionally arrows over the frames.

    Args:
        frames: uint8 (T, H, W, 3).
        motion: float (T, h, w, 2) in pixels, any grid.
    """
    t, height, width = frames.shape[:3]
    speed = float(np.hypot(motion[..., 0], motion[..., 1]).max())
    colours = flow_to_color(motion, max_magnitude=speed)  # (T, h, w, 3), one max over the clip
    colours = np.stack([cv2.resize(c, (width, height), interpolation=cv2.INTER_NEAREST) for c in colours])
    panels = [Panel("motion (colour)", colours, legend=motion_legend(speed, LABEL_WIDTH - 8))]
    if arrows:
        cell = min(height / motion.shape[1], width / motion.shape[2])
        scale = 0.9 * cell / speed if speed > 0 else 1.0
        panels.append(Panel("motion (arrows)", np.stack([draw_arrows(frames[i], motion[i], scale) for i in range(t)])))
    return panels


def clip_panels(frames: np.ndarray, mask: torch.Tensor | np.ndarray, geometry: MaskGeometry,
                motion: np.ndarray | None = None, reconstruction: np.ndarray | None = None,
                arrows: bool = True, reconstruction_name: str = "reconstruction") -> list[Panel]:
    """All rows for a clip: frames, [motion colour, [arrows]], mask, encoder input, [reconstruction].

    Args:
        frames: uint8 (T, H, W, 3), T and (H, W) those of ``geometry``.
        mask: (L,) bool, True = masked.
        motion: float (T, h, w, 2) or None (no motion rows).
        reconstruction: uint8 (T, H, W, 3) or None (no reconstruction row).
        reconstruction_name: its row name (see :func:`~.reconstruction.reconstruction_name`).
    """
    hidden = pixel_mask(mask, geometry)
    if hidden.shape != frames.shape[:3]:
        raise ValueError(f"mask covers {hidden.shape}, frames are {frames.shape[:3]}.")
    panels = [Panel("frames", frames)]
    if motion is not None:
        panels += motion_panels(frames, motion, arrows)
    panels += [mask_panel(frames, hidden), masked_input_panel(frames, hidden)]
    if reconstruction is not None:
        panels.append(Panel(reconstruction_name, reconstruction))
    return panels


__all__ = ["LABEL_WIDTH", "Panel", "clip_panels", "mask_panel", "masked_input_panel", "motion_panels",
           "pixel_mask"]
