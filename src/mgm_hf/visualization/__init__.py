"""Pictures of masks: frames, motion, the mask, what the encoder sees and the reconstruction.

``visualize(video, out=..., strategy=..., model=...)`` (also ``mgm-hf visualize``) and
``training_figure(pixel_values, bool_masked_pos, logits, config)``, the hook the pretraining
script calls for its periodic pictures.
"""

from __future__ import annotations

from .api import Visualization, training_figure, visualize
from .flow_colors import color_wheel, draw_arrows, flow_to_color
from .layout import MAX_WIDTH, compose_frames, compose_grid
from .panels import Panel, clip_panels
from .reconstruction import reconstruct, reconstruction_name, unnormalize
from .writers import write_gif, write_mp4, write_png

__all__ = [
    "MAX_WIDTH",
    "Panel",
    "Visualization",
    "clip_panels",
    "color_wheel",
    "compose_frames",
    "compose_grid",
    "draw_arrows",
    "flow_to_color",
    "reconstruct",
    "reconstruction_name",
    "training_figure",
    "unnormalize",
    "visualize",
    "write_gif",
    "write_mp4",
    "write_png",
]
