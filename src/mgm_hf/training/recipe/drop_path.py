"""Stochastic depth (drop path) for transformers' VideoMAE, which has none.

The official VideoMAE fine-tuning recipe drops each block's two residual branches per sample with a
rate rising linearly from 0 to ``drop_path_rate`` over depth. Transformers' ``VideoMAELayer`` adds
``attention(x)`` to ``x`` itself and lets ``VideoMAEOutput`` add the MLP branch
(``dropout(dense(h)) + x``), so forward hooks on those two sub-modules drop the branches: parameter
names, ``state_dict`` and ``save_pretrained`` output stay exactly those of transformers, and eval
mode is untouched.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Zeroes whole samples of ``x`` (B, ...) with probability ``rate`` and rescales the rest."""
    if rate == 0.0 or not training:
        return x
    keep = 1.0 - rate
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask / keep


def _attention_hook(rate: float):  # type: ignore[no-untyped-def]
    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        if not module.training:
            return None
        if isinstance(output, tuple):
            return (drop_path(output[0], rate, True), *output[1:])
        return drop_path(output, rate, True)

    return hook


def _mlp_output_hook(rate: float):  # type: ignore[no-untyped-def]
    def hook(module: nn.Module, args: Any, output: torch.Tensor) -> Any:
        if not module.training:
            return None
        residual = args[1]
        return drop_path(output - residual, rate, True) + residual

    return hook


def add_drop_path(encoder_layers: nn.ModuleList, drop_path_rate: float) -> list[float]:
    """Adds drop path to each ``VideoMAELayer`` in ``encoder_layers`` (``model.videomae.encoder.layer``).

    Returns the per-layer rates, linear in depth from 0 to ``drop_path_rate`` (as VideoMAE's
    ``torch.linspace(0, drop_path_rate, depth)``).
    """
    if not 0.0 <= drop_path_rate < 1.0:
        raise ValueError(f"drop_path_rate must lie in [0, 1), got {drop_path_rate}.")
    num = len(encoder_layers)
    rates = [drop_path_rate * i / max(num - 1, 1) for i in range(num)]
    for layer, rate in zip(encoder_layers, rates):
        if rate > 0.0:
            layer.attention.register_forward_hook(_attention_hook(rate))
            layer.output.register_forward_hook(_mlp_output_hook(rate))
    return rates


__all__ = ["add_drop_path", "drop_path"]
