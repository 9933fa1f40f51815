"""Mixup / CutMix for video clips with label smoothing (VideoMAE's fine-tuning recipe, after timm).

One draw per batch: with probability ``switch_prob`` CutMix (one box, the same in every frame, the
mixing weight corrected to the box's true area) else Mixup (a convex blend of whole clips). The
batch is mixed with its reverse, as timm's ``Mixup(mode="batch")``. Targets become soft labels:
``lam × smooth(y) + (1 − lam) × smooth(y_flipped)``. Randomness comes from the global torch RNG,
which Accelerate saves and restores with each checkpoint.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def smooth_one_hot(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    off = smoothing / num_classes
    return torch.full((labels.shape[0], num_classes), off, device=labels.device).scatter_(
        1, labels[:, None], 1.0 - smoothing + off
    )


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.sum(-targets * F.log_softmax(logits.float(), dim=-1), dim=-1).mean()


class VideoMixup:
    """``mix(pixel_values (B, T, C, H, W), labels (B,)) -> (mixed pixels, soft targets (B, K))``."""

    def __init__(self, num_classes: int, mixup_alpha: float = 0.8, cutmix_alpha: float = 1.0,
                 prob: float = 1.0, switch_prob: float = 0.5, label_smoothing: float = 0.1) -> None:
        self.num_classes = num_classes
        self.mixup_alpha = mixup_alpha
        self.cutmix_alpha = cutmix_alpha
        self.prob = prob
        self.switch_prob = switch_prob
        self.label_smoothing = label_smoothing

    @property
    def active(self) -> bool:
        return self.prob > 0 and (self.mixup_alpha > 0 or self.cutmix_alpha > 0)

    def __call__(self, pixel_values: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        targets = smooth_one_hot(labels, self.num_classes, self.label_smoothing)
        if not self.active or float(torch.rand(())) >= self.prob:
            return pixel_values, targets
        use_cutmix = self.cutmix_alpha > 0 and (self.mixup_alpha <= 0 or float(torch.rand(())) < self.switch_prob)
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        flipped = pixel_values.flip(0)
        if use_cutmix:
            height, width = pixel_values.shape[-2:]
            cut_h, cut_w = int(height * math.sqrt(1 - lam)), int(width * math.sqrt(1 - lam))
            cy, cx = int(torch.randint(height, ())), int(torch.randint(width, ()))
            y0, y1 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
            x0, x1 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
            mixed = pixel_values.clone()
            mixed[..., y0:y1, x0:x1] = flipped[..., y0:y1, x0:x1]
            lam = 1.0 - (y1 - y0) * (x1 - x0) / (height * width)
        else:
            mixed = pixel_values * lam + flipped * (1.0 - lam)
        return mixed, targets * lam + targets.flip(0) * (1.0 - lam)


__all__ = ["VideoMixup", "smooth_one_hot", "soft_cross_entropy"]
