"""Writing pictures and videos: PNG (Pillow), GIF (Pillow), MP4 (PyAV, H.264)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

FORMATS = (".png", ".gif", ".mp4")


def write_png(image: np.ndarray, path: str | Path) -> Path:
    """uint8 (H, W, 3) -> PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(image)).save(path)
    return path


def write_gif(frames: np.ndarray, path: str | Path, fps: float = 4.0) -> Path:
    """uint8 (T, H, W, 3) -> looping GIF, one GIF frame per frame (none merged)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0,
                   optimize=False, disposal=1)
    return path


def write_mp4(frames: np.ndarray, path: str | Path, fps: int = 4) -> Path:
    """uint8 (T, H, W, 3) -> H.264 MP4 (yuv420p; odd sizes padded by one white pixel)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t, h, w, _ = frames.shape
    padded = np.full((t, h + h % 2, w + w % 2, 3), 255, np.uint8)
    padded[:, :h, :w] = frames
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=int(fps))
        stream.width, stream.height, stream.pix_fmt = padded.shape[2], padded.shape[1], "yuv420p"
        stream.options = {"crf": "18"}
        for frame in padded:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


__all__ = ["FORMATS", "write_gif", "write_mp4", "write_png"]
