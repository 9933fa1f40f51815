"""A finished run as a Hub model repository: its run files, its model card, the upload.

* :mod:`~mgm_hf.hub.run_files`: ``save_run_files`` (arguments, results, image-processor config, card)
  and ``save_image_processor``;
* :mod:`~mgm_hf.hub.model_card`: cards rendered from templates with a run's real numbers (the generic
  template ships in ``templates/``, the release cards live in the checkout's ``model_cards/``);
* :mod:`~mgm_hf.hub.push`: ``push_run_to_hub`` through ``HfApi``.
"""

from __future__ import annotations

from .model_card import find_template, render_card, run_values
from .push import UPLOAD_IGNORE, push_run_to_hub
from .run_files import REQUIRED_FILES, save_image_processor, save_run_files

__all__ = [
    "REQUIRED_FILES",
    "UPLOAD_IGNORE",
    "find_template",
    "push_run_to_hub",
    "render_card",
    "run_values",
    "save_image_processor",
    "save_run_files",
]
