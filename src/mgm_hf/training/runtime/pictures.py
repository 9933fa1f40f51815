"""Periodic mask / reconstruction pictures during pretraining.

The drawing lives in :mod:`mgm_hf.visualization` (written separately). This hook calls its
``training_figure(pixel_values, bool_masked_pos, logits, config) -> uint8 (H, W, 3)`` on the first
clip of a batch, saves it as ``<output_dir>/pictures/step-<N>.png`` and sends it to every tracker
that takes images; it says once which trackers get the pictures and which cannot show them. When the
module or that function is missing it says so in the log once instead of silently drawing nothing.
:meth:`PictureLogger.files` lists the pictures that exist (the run records ``pictures_available``
from it, so the record is true only when a picture file is there).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .trackers import image_trackers

logger = logging.getLogger(__name__)


class PictureLogger:
    """Pictures every ``every`` steps (0: never) into ``<output_dir>/pictures`` and the ``trackers``
    (``accelerator.trackers``) that take images."""

    def __init__(self, output_dir: str, every: int, trackers: list[Any] | None = None) -> None:
        self.folder = Path(output_dir) / "pictures"
        self.every = every
        self.draw = self._find_drawer() if every > 0 else None
        self.available = self.draw is not None
        if self.available:
            self._announce(trackers or [])

    def _announce(self, trackers: list[Any]) -> None:
        takes, cannot = image_trackers(trackers)
        where = ", ".join([str(self.folder), *(t.name for t in takes)])
        logger.info("Mask/reconstruction pictures every %d steps go to %s.", self.every, where)
        for tracker in cannot:
            logger.warning("The %s tracker cannot show the pictures (Accelerate gives it no log_images); they are "
                           "only saved in %s.", tracker.name, self.folder)

    def files(self) -> list[Path]:
        """The pictures in the folder (``step-<N>.png``), by step."""
        return sorted(self.folder.glob("step-*.png"), key=lambda p: int(p.stem.split("-", 1)[1]))

    @staticmethod
    def _find_drawer() -> Any:
        try:
            from mgm_hf import visualization  # type: ignore[attr-defined]
        except ImportError as err:
            logger.warning("Mask/reconstruction pictures are unavailable: %s. Training continues without them.", err)
            return None
        draw = getattr(visualization, "training_figure", None)
        if draw is None:
            logger.warning(
                "Mask/reconstruction pictures are unavailable: mgm_hf.visualization has no training_figure(). "
                "Training continues without them."
            )
        return draw

    def maybe_log(self, accelerator: Any, step: int, batch: dict[str, Any], outputs: Any, config: Any) -> Path | None:
        """Draws on the main process every ``every`` steps; returns the PNG written, if any."""
        if not self.available or self.every <= 0 or step % self.every or not accelerator.is_main_process:
            return None
        from PIL import Image

        image = self.draw(
            batch["pixel_values"][:1].detach().float().cpu(),
            outputs.bool_masked_pos[:1].detach().cpu(),
            outputs.logits[:1].detach().float().cpu(),
            config,
        )
        image = np.asarray(image, dtype=np.uint8)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"step-{step}.png"
        Image.fromarray(image).save(path)
        for tracker in image_trackers(accelerator.trackers)[0]:
            try:
                tracker.log_images({"pretrain/reconstruction": image[None]}, step=step, dataformats="NHWC")
            except TypeError:  # trackers whose log_images takes no dataformats (NHWC is their layout)
                tracker.log_images({"pretrain/reconstruction": image[None]}, step=step)
        return path


__all__ = ["PictureLogger"]
