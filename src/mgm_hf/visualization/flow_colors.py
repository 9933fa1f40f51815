"""Drawing motion: Middlebury-style colour coding, its colour-wheel legend and vector-field arrows.

Colour coding (Baker et al., the Middlebury flow benchmark, HSV variant): hue = direction,
saturation = speed relative to ``max_magnitude``, value = 1, so still pixels are white. Directions:
right = red, down = yellow-green, left = cyan, up = violet (image coordinates, y down).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from .text import LABEL_FONT_SIZE, draw_lines, line_height, wrap

LEGEND_WHEEL = 48  # pixels across the colour wheel of the legend


def flow_to_color(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-codes motion.

    Args:
        flow: float (..., H, W, 2), ``(dx, dy)`` in pixels.
        max_magnitude: speed drawn fully saturated (None: the largest speed in ``flow``).

    Returns:
        uint8 (..., H, W, 3) RGB, white where nothing moves.
    """
    flow = np.asarray(flow, np.float32)
    magnitude = np.hypot(flow[..., 0], flow[..., 1])
    top = float(magnitude.max()) if max_magnitude is None else float(max_magnitude)
    angle = np.mod(np.arctan2(flow[..., 1], flow[..., 0]), 2 * np.pi)
    hsv = np.empty((*flow.shape[:-1], 3), np.uint8)
    hsv[..., 0] = np.round(angle / (2 * np.pi) * 179).astype(np.uint8)
    hsv[..., 1] = np.round(np.clip(magnitude / max(top, 1e-6), 0, 1) * 255).astype(np.uint8)
    hsv[..., 2] = 255
    flat = hsv.reshape(-1, 1, 3)
    return cv2.cvtColor(flat, cv2.COLOR_HSV2RGB).reshape(hsv.shape)


def color_wheel(size: int = LEGEND_WHEEL) -> np.ndarray:
    """The key to :func:`flow_to_color`: a disc whose pixel at offset (dx, dy) from the centre has the
    colour of motion (dx, dy), fully saturated at the rim; white outside the disc.

    Returns:
        uint8 (size, size, 3).
    """
    radius = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) - radius
    wheel = flow_to_color(np.stack([x, y], axis=-1), max_magnitude=radius)
    wheel[np.hypot(x, y) > radius + 0.5] = 255
    return wheel


def motion_legend(full_speed: float, width: int) -> np.ndarray:
    """The colour wheel (white centre = still) with a caption: hue = direction, and the speed drawn
    fully saturated.

    Args:
        full_speed: pixels of motion that :func:`flow_to_color` drew fully saturated.
        width: pixels available across.

    Returns:
        uint8 (h, width, 3), white background.
    """
    lines = wrap(f"hue = direction\nfull = {full_speed:.1f} px", width - 4, LABEL_FONT_SIZE)
    image = Image.new("RGB", (width, LEGEND_WHEEL + 2 + len(lines) * line_height(LABEL_FONT_SIZE)), (255, 255, 255))
    image.paste(Image.fromarray(color_wheel()), ((width - LEGEND_WHEEL) // 2, 0))
    draw_lines(image, lines, LABEL_FONT_SIZE, x=2, y=LEGEND_WHEEL + 2)
    return np.asarray(image)


def draw_arrows(image: np.ndarray, flow: np.ndarray, scale: float = 1.0, min_magnitude: float = 0.25,
                color: tuple[int, int, int] = (255, 0, 0)) -> np.ndarray:
    """Draws one arrow per motion cell, from the cell centre along ``scale × (dx, dy)``.

    Args:
        image: uint8 (H, W, 3), drawn on a copy.
        flow: float (h, w, 2) in pixels of ``image`` (any grid; each cell covers H/h × W/w pixels).
        scale: arrow length per pixel of motion.
        min_magnitude: cells slower than this get no arrow.

    Returns:
        uint8 (H, W, 3).
    """
    out = np.ascontiguousarray(image.copy())
    height, width = out.shape[:2]
    h, w = flow.shape[:2]
    cell_y, cell_x = height / h, width / w
    for i, j in zip(*np.nonzero(np.hypot(flow[..., 0], flow[..., 1]) >= min_magnitude)):
        x0, y0 = (j + 0.5) * cell_x, (i + 0.5) * cell_y
        dx, dy = flow[i, j] * scale
        cv2.arrowedLine(out, (round(x0), round(y0)), (round(x0 + dx), round(y0 + dy)), color, 1,
                        line_type=cv2.LINE_AA, tipLength=0.3)
    return out


__all__ = ["color_wheel", "draw_arrows", "flow_to_color", "motion_legend"]
