"""Text on pictures: word-wrapped lines in Pillow's built-in font (no font file needed).

The built-in font has ASCII and Latin-1 punctuation such as ``·`` but no ``×``, ``²`` or ``≥``
(they come out as boxes): write ``64x64 px``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_FONT_SIZE = 11  # row names, frame numbers, legend captions
TITLE_FONT_SIZE = 14
PADDING = 4  # pixels around a text block
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in font at ``size`` pixels (scalable since Pillow 10.1)."""
    return ImageFont.load_default(size=size)


def line_height(size: int) -> int:
    """Pixels from one line of ``size`` to the next."""
    return size + 4


def wrap(text: str, width: int, size: int) -> list[str]:
    """Splits ``text`` (``\\n`` starts a new line) into lines at most ``width`` pixels wide; a single
    word wider than ``width`` keeps a line of its own (and is cut at the picture's edge)."""
    face = font(size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and face.getlength(candidate) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def draw_lines(image: Image.Image, lines: list[str], size: int, x: int = PADDING, y: int = PADDING) -> int:
    """Draws ``lines`` from ``(x, y)`` down; returns the y below the last line."""
    draw = ImageDraw.Draw(image)
    for line in lines:
        draw.text((x, y), line, fill=INK, font=font(size))
        y += line_height(size)
    return y


def text_band(text: str, width: int, size: int = TITLE_FONT_SIZE) -> np.ndarray:
    """``text`` wrapped to ``width`` on a white band as tall as it needs.

    Returns:
        uint8 (lines * line_height + 2 * PADDING, width, 3).
    """
    lines = wrap(text, width - 2 * PADDING, size)
    image = Image.new("RGB", (width, len(lines) * line_height(size) + 2 * PADDING), BACKGROUND)
    draw_lines(image, lines, size)
    return np.asarray(image)


__all__ = ["LABEL_FONT_SIZE", "TITLE_FONT_SIZE", "draw_lines", "font", "line_height", "text_band", "wrap"]
