"""Optimiser recipe of VideoMAE / MGM / MGMAE: AdamW parameter groups, linear lr scaling, layer-wise
lr decay.

* No weight decay on biases, norm weights (every 1-D parameter) and tokens/embeddings
  (``mask_token``, ``cls_token``, position embeddings), as VideoMAE's ``no_weight_decay()``.
* ``lr = base_lr × total_batch_size / 256`` (the papers' linear scaling rule).
* Layer-wise lr decay for fine-tuning: layer ``i`` of ``n`` gets ``decay ** (n + 1 - i)``, the
  embeddings are layer 0 and everything after the encoder (norm, head) layer ``n + 1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

NO_DECAY_KEYWORDS: tuple[str, ...] = ("mask_token", "cls_token", "position_embeddings", "pos_embed")
_LAYER_RE = re.compile(r"(?:^|\.)encoder\.layer\.(\d+)\.")


def scaled_lr(base_lr: float, total_batch_size: int, reference_batch_size: int = 256) -> float:
    """The linear scaling rule: ``base_lr × total_batch_size / 256``."""
    if total_batch_size <= 0:
        raise ValueError(f"total_batch_size must be positive, got {total_batch_size}.")
    return base_lr * total_batch_size / reference_batch_size


def uses_weight_decay(name: str, param: torch.Tensor) -> bool:
    """False for biases, 1-D parameters (norms) and token/position embeddings."""
    if param.ndim <= 1 or name.endswith(".bias"):
        return False
    return not any(key in name for key in NO_DECAY_KEYWORDS)


def videomae_layer_id(name: str, num_layers: int) -> int:
    """0 for the patch embedding, ``i + 1`` for encoder layer ``i``, ``num_layers + 1`` for the rest
    (final norm, ``fc_norm``, classifier; also the pretraining decoder)."""
    if ".embeddings." in f".{name}" or name.startswith("embeddings."):
        return 0
    match = _LAYER_RE.search(name)
    if match and "decoder" not in name:
        return int(match.group(1)) + 1
    return num_layers + 1


def param_groups(
    model: nn.Module,
    weight_decay: float = 0.05,
    layer_decay: float | None = None,
    num_layers: int | None = None,
) -> list[dict[str, Any]]:
    """AdamW parameter groups; each has ``lr_scale`` (1.0 without layer decay) and ``names``.

    Frozen parameters are left out. With ``layer_decay`` the groups are split per layer
    (``num_layers`` defaults to ``model.config.num_hidden_layers``).
    """
    if layer_decay is not None:
        if not 0.0 < layer_decay <= 1.0:
            raise ValueError(f"layer_decay must lie in (0, 1], got {layer_decay}.")
        if num_layers is None:
            num_layers = int(model.config.num_hidden_layers)  # type: ignore[union-attr]
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        decay = uses_weight_decay(name, param)
        layer = videomae_layer_id(name, num_layers) if layer_decay is not None else 0
        scale = layer_decay ** (num_layers + 1 - layer) if layer_decay is not None else 1.0  # type: ignore[operator]
        group = groups.setdefault(
            (layer, decay),
            {"params": [], "names": [], "weight_decay": weight_decay if decay else 0.0, "lr_scale": scale},
        )
        group["params"].append(param)
        group["names"].append(name)
    return [groups[key] for key in sorted(groups)]


def build_adamw(
    groups: Iterable[dict[str, Any]],
    lr: float,
    betas: tuple[float, float] = (0.9, 0.95),
    eps: float = 1e-8,
) -> torch.optim.AdamW:
    """AdamW over ``param_groups(...)``: each group's lr is ``lr × lr_scale``."""
    torch_groups = []
    for group in groups:
        clean = {k: v for k, v in group.items() if k != "names"}
        clean["lr"] = lr * group.get("lr_scale", 1.0)
        torch_groups.append(clean)
    return torch.optim.AdamW(torch_groups, lr=lr, betas=betas, eps=eps)




def cosine_schedule(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup to each group's lr, then cosine decay to ``min_lr_ratio`` × that lr."""
    from transformers import get_cosine_with_min_lr_schedule_with_warmup

    return get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, num_warmup_steps=warmup_steps, num_training_steps=total_steps, min_lr_rate=min_lr_ratio
    )


# The papers' base learning rates (lr = base × total batch / 256) and the one we use for the tiny CPU
# model, whose runs are short with batches of ~8 (the papers' rule would give lr ~1e-5 there).
PAPER_BASE_LR = {"pretrain": 1.5e-4, "finetune": 5e-4, "linear_probe": 0.1}
TINY_BASE_LR = {"pretrain": 3.2e-2, "finetune": 1e-2, "linear_probe": 0.1}
TINY_MAX_WIDTH = 128


def default_base_lr(stage: str, hidden_size: int) -> float:
    """The papers' base lr for ``stage``, or the tiny-model one for encoders at most 128 wide."""
    table = TINY_BASE_LR if hidden_size <= TINY_MAX_WIDTH else PAPER_BASE_LR
    return table[stage]


def peak_learning_rate(stage: str, hidden_size: int, total_batch_size: int, base_lr: float | None = None,
                       lr: float | None = None) -> float:
    """The peak lr of a run: ``lr`` when given (``--learning_rate``); else the linear scaling rule on
    ``base_lr`` (``--base_learning_rate``; default :func:`default_base_lr` of ``stage``)."""
    if lr is not None:
        return lr
    return scaled_lr(base_lr if base_lr is not None else default_base_lr(stage, hidden_size), total_batch_size)


__all__ = ["NO_DECAY_KEYWORDS", "PAPER_BASE_LR", "TINY_BASE_LR", "build_adamw", "cosine_schedule",
           "default_base_lr", "param_groups", "peak_learning_rate", "scaled_lr", "uses_weight_decay", "videomae_layer_id"]
