"""Evaluation of a video classifier: top-k accuracy over (multi-view) batches, sharded across processes.

Top-1/top-5 are computed here from the scores. (The ``evaluate`` library's ``accuracy`` is a script
that ``evaluate.load`` fetches from the Hub, so it fails offline unless already cached, and it has
no top-k; mgm_hf does not use it.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from accelerate import Accelerator

# Temporal views × spatial crops of the papers' test protocols.
VIEW_PRESETS: dict[str, tuple[int, int]] = {"ssv2": (2, 3), "k400": (5, 3), "single": (1, 1)}


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """``scores (N, K)`` and ``labels (N,)`` -> ``{"top1": ..., "top5": ...}`` in [0, 1]; a k larger
    than the number of classes K is clipped to K."""
    if scores.shape[0] != labels.shape[0] or scores.shape[0] == 0:
        raise ValueError(f"Need one score row per label, got {tuple(scores.shape)} and {tuple(labels.shape)}.")
    out = {}
    for k in ks:
        top = scores.topk(min(k, scores.shape[1]), dim=1).indices
        out[f"top{k}"] = (top == labels[:, None]).any(dim=1).float().mean().item()
    return out


@torch.no_grad()
def predict_views(model: torch.nn.Module, pixel_values: torch.Tensor, chunk: int = 8) -> torch.Tensor:
    """``pixel_values (B, V, T, C, H, W)`` -> softmax scores averaged over the V views, ``(B, K)``."""
    batch, views = pixel_values.shape[:2]
    flat = pixel_values.flatten(0, 1)
    logits = torch.cat([model(pixel_values=flat[i : i + chunk]).logits for i in range(0, flat.shape[0], chunk)])
    return logits.float().softmax(-1).view(batch, views, -1).mean(1)


def evaluate_classifier(
    accelerator: Accelerator,
    model: torch.nn.Module,
    dataloader: Iterable[dict[str, torch.Tensor]],
    predict: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor] = predict_views,
) -> dict[str, float]:
    """Top-1/top-5 over the whole (prepared, sharded) dataloader of ``pixel_values`` (B, V, T, C, H, W)
    and ``labels`` (B, V) or (B,): ``gather_for_metrics`` collects
    every process's predictions and drops the duplicates padding the last batch."""
    model.eval()
    scores, labels = [], []
    for batch in dataloader:
        batch_scores = predict(model, batch["pixel_values"])
        labels_per_view = batch["labels"]  # (B, V) from VideoCollator(flatten_views=False), or (B,)
        video_labels = labels_per_view[:, 0] if labels_per_view.dim() > 1 else labels_per_view
        batch_scores, batch_labels = accelerator.gather_for_metrics((batch_scores, video_labels))
        scores.append(batch_scores.cpu())
        labels.append(batch_labels.cpu())
    all_scores, all_labels = torch.cat(scores), torch.cat(labels)
    results = topk_accuracy(all_scores, all_labels)
    results["num_videos"] = float(all_labels.shape[0])
    return results


__all__ = ["VIEW_PRESETS", "evaluate_classifier", "predict_views", "topk_accuracy"]
