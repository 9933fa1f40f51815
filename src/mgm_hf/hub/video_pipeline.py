"""The frame sampling a classifier was trained with, saved in its config, and the
``video-classification`` pipeline that uses it.

A fine-tuned classifier sees clips of ``config.num_frames`` frames taken ``frame_stride`` frames
apart (``examples/finetune.py``: dense sampling from a random start in training, the centre clip in
validation). :func:`record_frame_sampling` writes that stride into the config, so it travels in
``config.json`` (a plain ``VideoMAEConfig`` keeps extra entries).

What transformers' ``video-classification`` pipeline (transformers 5) does with it:

* it takes ``num_frames`` from ``model.config.num_frames``;
* with an image processor (``preprocessor_config.json``, what mgm_hf saves) it decodes with PyAV and
  takes ``num_frames`` frames evenly spread over the first ``num_frames × frame_sampling_rate``
  frames, where ``frame_sampling_rate`` is a call or construction argument with default 1
  (consecutive frames) that it reads from nowhere else;
* with a video processor it ignores ``frame_sampling_rate`` and spreads ``num_frames`` over the
  whole video. ``VideoMAEVideoProcessor`` also needs torchvision. So mgm_hf saves the image
  processor, the one path that can sample as the model was trained (transformers logs a deprecation
  warning for it).

:func:`video_classification_pipeline` builds the stock pipeline with ``frame_sampling_rate`` set to the
recorded stride; without mgm_hf, pass ``frame_sampling_rate=config.frame_stride`` yourself (the
model card shows the value). Its indices ``linspace(0, num_frames × stride - 1, num_frames)`` are the
stride's up to less than one stride (the last frame can be up to ``stride - 1`` later), from the
start of the video rather than its centre.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import AutoConfig, PretrainedConfig

if TYPE_CHECKING:
    from transformers.pipelines import Pipeline

FRAME_STRIDE_KEY = "frame_stride"


def record_frame_sampling(config: PretrainedConfig, frame_stride: int) -> None:
    """Writes the stride the model is trained with into ``config`` (``config.frame_stride``; saved
    with ``config.json``)."""
    if int(frame_stride) < 1:
        raise ValueError(f"frame_stride must be >= 1, got {frame_stride}.")
    setattr(config, FRAME_STRIDE_KEY, int(frame_stride))


def frame_sampling_rate(config: PretrainedConfig) -> int:
    """The pipeline's ``frame_sampling_rate`` for a model: its recorded ``frame_stride``. Raises
    ``ValueError`` when the config records none (a model saved without it, e.g. by mgm_hf < 0.1)."""
    stride = getattr(config, FRAME_STRIDE_KEY, None)
    if stride is None:
        raise ValueError(
            "This model's config records no frame_stride (the frame stride it was trained with); pass "
            "frame_sampling_rate=<the stride> to the pipeline."
        )
    return int(stride)


def video_classification_pipeline(model: str | Path, **kwargs: Any) -> Pipeline:
    """``transformers.pipeline("video-classification", model=model, ...)`` sampling frames with the
    stride ``model`` was trained with. ``kwargs`` go to ``pipeline`` (an explicit
    ``frame_sampling_rate`` wins); hub options (``revision``, ``token``) also to the config lookup."""
    from transformers import pipeline  # the pipelines module is heavy: imported when used

    if "frame_sampling_rate" not in kwargs:
        hub = {k: kwargs[k] for k in ("revision", "token", "trust_remote_code") if k in kwargs}
        kwargs["frame_sampling_rate"] = frame_sampling_rate(AutoConfig.from_pretrained(str(model), **hub))
    return pipeline("video-classification", model=str(model), **kwargs)


__all__ = ["FRAME_STRIDE_KEY", "frame_sampling_rate", "record_frame_sampling", "video_classification_pipeline"]
