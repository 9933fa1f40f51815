"""``MGMVideoMAE`` (``VideoMAEForPreTraining`` that makes its own motion-guided masks) and
``MGMVideoMAEForVideoClassification`` (the papers' fine-tuning classifier built from its encoder).

Self-contained apart from transformers and (optionally) mgm_hf, for ``register_for_auto_class``: this
file and ``configuration_mgm_videomae.py`` ship with every saved checkpoint, and without mgm_hf
installed the model loads and runs with an explicit ``bool_masked_pos``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import VideoMAEConfig, VideoMAEForPreTraining, VideoMAEForVideoClassification
from transformers.conversion_mapping import (
    get_checkpoint_conversion_mapping,
    register_checkpoint_conversion_mapping,
)
from transformers.models.videomae.modeling_videomae import VideoMAEForPreTrainingOutput

from .configuration_mgm_videomae import MGMVideoMAEConfig

try:  # absent when loaded as remote code where mgm_hf is not installed
    from mgm_hf.masking import MaskingStrategy, build_masking_strategy
except ModuleNotFoundError as error:
    if error.name not in ("mgm_hf", "mgm_hf.masking"):
        raise  # mgm_hf is installed but broken: say so instead of running without masks
    MaskingStrategy = None
    build_masking_strategy = None

logger = logging.getLogger(__name__)

# transformers 4's VideoMAE layout (MCG-NJU/videomae-base; mgm_hf checkpoints saved before query.bias
# was written) stores the attention biases as `q_bias`/`v_bias`. transformers renames them on load
# only for model types with a registered mapping, so the registration lives here, in the file that
# ships with every checkpoint: it then also runs when the model is loaded as remote code.
if get_checkpoint_conversion_mapping(MGMVideoMAEConfig.model_type) is None:
    register_checkpoint_conversion_mapping(
        MGMVideoMAEConfig.model_type, get_checkpoint_conversion_mapping("videomae") or []
    )

@dataclass
class MGMVideoMAEForPreTrainingOutput(VideoMAEForPreTrainingOutput):
    r"""
    loss (`torch.Tensor` of shape `()`): reconstruction loss on the masked tokens.
    logits (`torch.Tensor` of shape `(batch_size, num_masked, tubelet_size * patch_size**2 * 3)`): reconstructions.
    bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, sequence_length)`): the mask used, True = masked.
    """

    bool_masked_pos: torch.BoolTensor | None = None


class MGMVideoMAE(VideoMAEForPreTraining):
    """VideoMAE pretraining with pluggable masking (random, tube, SMM, MGM, MGMAE).

    ``forward(pixel_values, bool_masked_pos=None, motion=None, generator=None)`` uses the given mask or
    makes one with ``config.masking``; the output carries the mask it used. The weights are exactly
    ``VideoMAEForPreTraining``'s, so VideoMAE checkpoints load into it and back.
    """

    config_class = MGMVideoMAEConfig
    config: MGMVideoMAEConfig

    def __init__(self, config: MGMVideoMAEConfig) -> None:
        super().__init__(config)
        self.masking_strategy = build_masking_strategy(config) if build_masking_strategy is not None else None

    def save_pretrained(self, save_directory: str | Path, *args: Any, save_original_format: bool = False, **kwargs: Any) -> None:
        """``PreTrainedModel.save_pretrained`` with two differences.

        - The weights keep this model's own names (``query.bias``/``value.bias``), not transformers 4's
          ``q_bias``/``v_bias``: a layout that loads the same with or without any renaming registered.
          ``save_original_format=True`` writes the old layout.
        - When this file ships with the checkpoint, ``config.auto_map`` also names the classifier, so
          ``AutoModelForVideoClassification.from_pretrained(dir, trust_remote_code=True)`` works
          without mgm_hf.
        """
        if self.is_remote_code():
            module = type(self).__module__.rsplit(".", 1)[-1]
            self.config.auto_map = {
                **(getattr(self.config, "auto_map", None) or {}),
                "AutoModelForVideoClassification": f"{module}.{MGMVideoMAEForVideoClassification.__name__}",
            }
        super().save_pretrained(save_directory, *args, save_original_format=save_original_format, **kwargs)

    def set_masking_strategy(self, masking: dict[str, Any] | Any) -> None:
        """Swaps the strategy (a config dict or a ``MaskingStrategy``) and records it in the config."""
        if build_masking_strategy is None:
            raise ImportError("Install mgm_hf to change the masking strategy: pip install mgm_hf")
        masking = masking.to_dict() if isinstance(masking, MaskingStrategy) else dict(masking)
        strategy = build_masking_strategy(masking, **_geometry_of(self.config))
        self.config.masking = strategy.to_dict()
        self.masking_strategy = strategy

    def make_mask(
        self,
        pixel_values: torch.Tensor,
        motion: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.BoolTensor:
        """(B, T, C, H, W) pixels [+ (B, T, h, w, 2) motion] -> BoolTensor (B, L), True = masked."""
        if self.masking_strategy is None:
            raise ImportError(
                "This model was loaded without mgm_hf, so it cannot make masks: pass bool_masked_pos, "
                "or pip install mgm_hf."
            )
        return self.masking_strategy.mask_clips(pixel_values, motion=motion, generator=generator)

    def forward(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.Tensor | None = None,
        motion: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        **kwargs: Any,
    ) -> MGMVideoMAEForPreTrainingOutput:
        """
        Args:
            pixel_values: (B, T, C, H, W), normalised as the image processor does.
            bool_masked_pos: (B, L) True = masked, the same count in every row; made when None.
            motion: (B, T, h, w, 2) motion for motion-guided strategies: ``motion[b, t, y, x] = (dx, dy)``,
                how far (pixels) the content at (x, y) of frame t moved since frame t-1 (at t = 0: since the frame before the clip, or zero).
            generator: seeds the mask made here.
        """
        kwargs.pop("return_dict", None)  # the output is always a ModelOutput
        if bool_masked_pos is None:
            bool_masked_pos = self.make_mask(pixel_values, motion=motion, generator=generator)
        else:
            bool_masked_pos = self._check_mask(bool_masked_pos, pixel_values)
        outputs = super().forward(pixel_values, bool_masked_pos=bool_masked_pos, **kwargs)
        return MGMVideoMAEForPreTrainingOutput(
            loss=outputs.loss,
            logits=outputs.logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            bool_masked_pos=bool_masked_pos,
        )

    def _check_mask(self, mask: torch.Tensor, pixel_values: torch.Tensor) -> torch.BoolTensor:
        seq_length = self.videomae.embeddings.num_patches
        expected = (pixel_values.shape[0], seq_length)
        if tuple(mask.shape) != expected:
            raise ValueError(f"bool_masked_pos must have shape {expected}, got {tuple(mask.shape)}.")
        mask = mask.to(device=pixel_values.device, dtype=torch.bool)
        counts = mask.sum(dim=1)
        if bool((counts != counts[0]).any()):
            raise ValueError(
                f"Every row of bool_masked_pos must mask the same number of tokens (VideoMAE's encoder "
                f"needs it); got counts {counts.tolist()}."
            )
        if int(counts[0]) in (0, seq_length):
            raise ValueError("bool_masked_pos masks no token or every token; nothing to reconstruct from.")
        return mask


# Config entries of a pretraining checkpoint that the classifier's plain VideoMAEConfig does not carry.
_PRETRAINING_ONLY = ("masking", "auto_map", "architectures", "model_type", "transformers_version")


def classifier_config(config: VideoMAEConfig) -> VideoMAEConfig:
    """The fine-tuning classifier's config: ``config``'s encoder sizes and labels (``id2label``; ``label2id``
    is derived from it) with mean pooling + ``fc_norm``, as a plain ``VideoMAEConfig`` (``model_type="videomae"``)."""
    values = {k: v for k, v in config.to_dict().items() if k not in _PRETRAINING_ONLY}
    id2label = {int(k): v for k, v in config.id2label.items()}
    values.update(use_mean_pooling=True, id2label=id2label, label2id={v: k for k, v in id2label.items()})
    return VideoMAEConfig(**values)


class MGMVideoMAEForVideoClassification(VideoMAEForVideoClassification):
    """The papers' fine-tuning classifier (VideoMAE's head: mean pooling + ``fc_norm`` + linear), made
    from a pretraining checkpoint; registered for ``AutoModelForVideoClassification`` with
    :class:`MGMVideoMAEConfig`::

        AutoModelForVideoClassification.from_pretrained(pretrain_dir, num_labels=174, id2label=...)

    ``from_pretrained`` returns transformers' own ``VideoMAEForVideoClassification`` with a plain
    ``VideoMAEConfig`` (``model_type="videomae"``): a fine-tuned model saves and reloads with
    transformers alone (``AutoModelForVideoClassification``, which the video-classification pipeline
    uses, or ``VideoMAEForVideoClassification``), without mgm_hf or remote code. Exactly the encoder moves: the
    decoder is dropped, ``fc_norm`` and ``classifier`` start fresh, and the pretraining encoder's final
    ``layernorm`` (absent with mean pooling) is left out. Constructing the class directly gives an
    untrained classifier with the same config.
    """

    config_class = MGMVideoMAEConfig

    def __init__(self, config: VideoMAEConfig) -> None:
        super().__init__(classifier_config(config))

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | Path, *model_args: Any, **kwargs: Any
    ) -> VideoMAEForVideoClassification | tuple[VideoMAEForVideoClassification, dict[str, list]]:
        """Loads ``MGMVideoMAE`` with every argument given (hub options, ``config``, ``dtype``, config
        overrides such as ``num_labels``/``id2label``/``image_size``) and copies its encoder into a new
        classifier on the same device and dtype. ``output_loading_info=True`` also returns the keys of the
        new head as ``missing_keys`` and the checkpoint's unused keys as ``unexpected_keys``.

        Raises ``ValueError`` when the checkpoint lacks encoder weights.
        """
        output_loading_info = kwargs.pop("output_loading_info", False)
        pretrained, info = MGMVideoMAE.from_pretrained(
            pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs
        )
        missing_encoder = [k for k in info["missing_keys"] if k.startswith("videomae.")]
        if missing_encoder:
            raise ValueError(f"{pretrained_model_name_or_path} lacks encoder weights {sorted(missing_encoder)}.")
        model = VideoMAEForVideoClassification(classifier_config(pretrained.config))
        encoder = {k: v for k, v in pretrained.videomae.state_dict().items() if not k.startswith("layernorm.")}
        model.videomae.load_state_dict(encoder, strict=True)  # anything missing or left over raises
        model.to(device=pretrained.device, dtype=pretrained.dtype)
        new_head = [k for k in model.state_dict() if not k.startswith("videomae.")]
        logger.warning(
            "Classifier made from the encoder of %s (%d tensors); newly initialised, to be trained: %s (%d labels).",
            pretrained_model_name_or_path, len(encoder), ", ".join(new_head), model.config.num_labels,
        )
        if not output_loading_info:
            return model
        unused = [k for k in pretrained.state_dict() if not k.startswith("videomae.") or k.startswith("videomae.layernorm.")]
        return model, {**info, "missing_keys": new_head, "unexpected_keys": sorted({*info["unexpected_keys"], *unused})}


def _geometry_of(config: MGMVideoMAEConfig) -> dict[str, Any]:
    return {k: getattr(config, k) for k in ("num_frames", "image_size", "patch_size", "tubelet_size")}


__all__ = ["MGMVideoMAE", "MGMVideoMAEForPreTrainingOutput", "MGMVideoMAEForVideoClassification", "classifier_config"]
