"""A finished run (pretraining or fine-tuning) as a Hub model repository: its run files, its model
card, the upload, and the ``video-classification`` pipeline of a fine-tuned model.

* :mod:`~mgm_hf.hub.run_files`: ``save_run_files`` (arguments, results, image-processor config, card);
* :mod:`~mgm_hf.hub.run_cards`: the card of each kind of run (``ModelCardData`` + ``EvalResult``);
* :mod:`~mgm_hf.hub.model_card`: templates (the generic ones ship in ``templates/``, the release
  cards live in the checkout's ``model_cards/``) filled and merged through ``huggingface_hub``;
* :mod:`~mgm_hf.hub.dataset_ids`: datasets as cards name them (Hub ids where they exist);
* :mod:`~mgm_hf.hub.push`: ``push_run_to_hub`` through ``HfApi``;
* :mod:`~mgm_hf.hub.video_pipeline`: the trained frame stride in the config, and the pipeline using it.
"""

from __future__ import annotations

from .model_card import find_template, render_card
from .push import UPLOAD_IGNORE, check_push_args, push_run_to_hub
from .run_cards import base_model_id, classifier_card, pretrained_card, run_values
from .run_files import REQUIRED_FILES, save_image_processor, save_run_files
from .video_pipeline import frame_sampling_rate, record_frame_sampling, video_classification_pipeline

__all__ = [
    "REQUIRED_FILES",
    "UPLOAD_IGNORE",
    "base_model_id",
    "check_push_args",
    "classifier_card",
    "find_template",
    "frame_sampling_rate",
    "pretrained_card",
    "push_run_to_hub",
    "record_frame_sampling",
    "render_card",
    "run_values",
    "save_image_processor",
    "save_run_files",
    "video_classification_pipeline",
]
