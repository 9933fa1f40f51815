"""Official VideoMAE / MGMAE pretraining checkpoints (``.pth``) -> ``MGMVideoMAE`` weights.

The official layout (MCG-NJU/VideoMAE ``modeling_pretrain.py``; MGMAE reuses it)::

    encoder.patch_embed.proj.{weight,bias}           Conv3d (D, 3, tubelet, patch, patch)
    encoder.blocks.<i>.norm1 / norm2.{weight,bias}
    encoder.blocks.<i>.attn.qkv.weight               (3D, D), no bias
    encoder.blocks.<i>.attn.{q_bias,v_bias}          (D,) each (the key has no bias)
    encoder.blocks.<i>.attn.proj.{weight,bias}
    encoder.blocks.<i>.mlp.fc1 / fc2.{weight,bias}
    encoder.norm.{weight,bias}
    encoder_to_decoder.weight, mask_token
    decoder.blocks.<i>.* (as the encoder's), decoder.norm, decoder.head.{weight,bias}

maps onto transformers' ``VideoMAEForPreTraining`` names (the qkv matrix is split into query, key
and value). Position embeddings are fixed sin-cos tables in both; a stored ``pos_embed`` is checked
against ours and dropped. Every key must be used and every model weight filled: otherwise
:class:`ConversionError` lists the leftovers / the missing ones. Files are read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

WRAPPER_KEYS = ("model", "module", "state_dict")
_BLOCK_RE = re.compile(r"^(encoder|decoder)\.blocks\.(\d+)\.(.+)$")
_BLOCK_MAP = {
    "norm1.weight": "layernorm_before.weight",
    "norm1.bias": "layernorm_before.bias",
    "norm2.weight": "layernorm_after.weight",
    "norm2.bias": "layernorm_after.bias",
    "attn.proj.weight": "attention.output.dense.weight",
    "attn.proj.bias": "attention.output.dense.bias",
    "attn.q_bias": "attention.attention.query.bias",
    "attn.v_bias": "attention.attention.value.bias",
    "mlp.fc1.weight": "intermediate.dense.weight",
    "mlp.fc1.bias": "intermediate.dense.bias",
    "mlp.fc2.weight": "output.dense.weight",
    "mlp.fc2.bias": "output.dense.bias",
}
_TOP_MAP = {
    "encoder.patch_embed.proj.weight": "videomae.embeddings.patch_embeddings.projection.weight",
    "encoder.patch_embed.proj.bias": "videomae.embeddings.patch_embeddings.projection.bias",
    "encoder.norm.weight": "videomae.layernorm.weight",
    "encoder.norm.bias": "videomae.layernorm.bias",
    "encoder_to_decoder.weight": "encoder_to_decoder.weight",
    "mask_token": "mask_token",
    "decoder.norm.weight": "decoder.norm.weight",
    "decoder.norm.bias": "decoder.norm.bias",
    "decoder.head.weight": "decoder.head.weight",
    "decoder.head.bias": "decoder.head.bias",
}
_POS_KEYS = ("encoder.pos_embed", "pos_embed", "decoder.pos_embed")


class ConversionError(ValueError):
    """The checkpoint does not map one-to-one onto the model."""


def load_official_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Reads a ``.pth`` with ``torch.load(weights_only=True)`` and unwraps ``{"model": ...}``."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    return unwrap(state)


def unwrap(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    for key in WRAPPER_KEYS:
        if key in state and isinstance(state[key], dict):
            state = state[key]
            break
    return {k.removeprefix("module."): v for k, v in state.items()}


def _prefix(part: str, index: int) -> str:
    return f"videomae.encoder.layer.{index}." if part == "encoder" else f"decoder.decoder_layers.{index}."


def convert_state_dict(official: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Renames / splits the official keys; returns ``(hf_state_dict, leftover_official_keys)``."""
    out: dict[str, torch.Tensor] = {}
    leftovers: list[str] = []
    for key, value in official.items():
        match = _BLOCK_RE.match(key)
        if key in _TOP_MAP:
            out[_TOP_MAP[key]] = value
        elif match and match.group(3) == "attn.qkv.weight":
            prefix = _prefix(match.group(1), int(match.group(2))) + "attention.attention."
            query, key_w, value_w = value.chunk(3, dim=0)
            out[prefix + "query.weight"], out[prefix + "key.weight"], out[prefix + "value.weight"] = (
                query.clone(), key_w.clone(), value_w.clone())
        elif match and match.group(3) in _BLOCK_MAP:
            out[_prefix(match.group(1), int(match.group(2))) + _BLOCK_MAP[match.group(3)]] = value
        elif key in _POS_KEYS:
            continue  # checked by convert_checkpoint against the model's fixed table
        else:
            leftovers.append(key)
    return out, leftovers


def infer_config_kwargs(official: dict[str, torch.Tensor], head_dim: int = 64) -> dict[str, Any]:
    """Sizes readable from the weights (not image size and frame count: the checkpoint has no
    position table to read them from; pass them yourself)."""
    proj = official["encoder.patch_embed.proj.weight"]
    hidden, _, tubelet, patch, _ = proj.shape
    decoder_hidden = official["encoder_to_decoder.weight"].shape[0]

    def count(part: str) -> int:
        return len({int(m.group(2)) for k in official if (m := _BLOCK_RE.match(k)) and m.group(1) == part})

    return {
        "hidden_size": hidden, "patch_size": patch, "tubelet_size": tubelet,
        "num_hidden_layers": count("encoder"), "num_attention_heads": max(hidden // head_dim, 1),
        "intermediate_size": official["encoder.blocks.0.mlp.fc1.weight"].shape[0],
        "decoder_hidden_size": decoder_hidden, "decoder_num_hidden_layers": count("decoder"),
        "decoder_num_attention_heads": max(decoder_hidden // head_dim, 1),
        "decoder_intermediate_size": official["decoder.blocks.0.mlp.fc1.weight"].shape[0]
        if count("decoder") else 4 * decoder_hidden,
        "qv_bias": "encoder.blocks.0.attn.q_bias" in official,
        "layer_norm_eps": 1e-6,  # the official blocks use LayerNorm(eps=1e-6)
        "use_mean_pooling": False,  # the official pretraining encoder ends with encoder.norm
    }


def convert_checkpoint(official: dict[str, torch.Tensor], model: torch.nn.Module) -> torch.nn.Module:
    """Loads ``official`` into ``model`` (an ``MGMVideoMAE``/``VideoMAEForPreTraining``) strictly."""
    official = unwrap(official)
    converted, leftovers = convert_state_dict(official)
    expected = model.state_dict()
    unknown = sorted(set(converted) - set(expected))
    missing = sorted(set(expected) - set(converted))
    problems = []
    if leftovers or unknown:
        problems.append(f"unmapped checkpoint keys: {sorted(leftovers) + unknown}")
    if missing:
        problems.append(f"model weights the checkpoint does not provide: {missing}")
    shape_errors = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
                    for k, v in converted.items() if k in expected and v.shape != expected[k].shape]
    if shape_errors:
        problems.append(f"shape mismatches: {shape_errors}")
    for key in _POS_KEYS:
        if key in official:
            table = model.position_embeddings if key.startswith("decoder") else \
                model.videomae.embeddings.position_embeddings
            if official[key].shape != table.shape or not torch.allclose(official[key].float(), table.float(), atol=1e-4):
                problems.append(f"{key} is not the fixed sin-cos table this model uses (learned embeddings "
                                "are not supported)")
    if problems:
        raise ConversionError("Cannot convert checkpoint: " + "; ".join(problems))
    model.load_state_dict(converted, strict=True)
    return model


__all__ = ["ConversionError", "convert_checkpoint", "convert_state_dict", "infer_config_kwargs",
           "load_official_state_dict", "unwrap"]
