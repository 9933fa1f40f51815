"""Classification evaluation over (multi-view) batches, sharded across processes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from accelerate import Accelerator

from .metrics import evaluate_top1, topk_accuracy

# Temporal views × spatial crops of the papers' test protocols.
VIEW_PRESETS: dict[str, tuple[int, int]] = {"ssv2": (2, 3), "k400": (5, 3), "single": (1, 1)}


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
    top1 = evaluate_top1(all_scores.argmax(-1), all_labels) if accelerator.is_main_process else None
    if top1 is not None:
        results["top1_evaluate"] = top1
    return results


__all__ = ["VIEW_PRESETS", "evaluate_classifier", "predict_views"]
