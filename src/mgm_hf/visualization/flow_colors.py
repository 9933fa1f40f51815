"""Drawing motion: Middlebury-style colour coding and vector-field arrows.

Colour coding (Baker et al., the Middlebury flow benchmark, HSV variant): hue = direction,
saturation = speed relative to ``max_magnitude``, value = 1, so still pixels are white. Directions:
right = red, down = yellow-green, left = cyan, up = violet (image coordinates, y down).
"""

from __future__ import annotations

import cv2
import numpy as np


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


__all__ = ["draw_arrows", "flow_to_color"]
