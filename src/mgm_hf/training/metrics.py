"""Top-k accuracy.

The ``evaluate`` library's ``accuracy`` metric is a script fetched from the Hub on first use
(``evaluate.load("accuracy")``) and works offline only when it is already cached, and it has no
top-k. So top-1 goes through ``evaluate`` when it loads, and is always also computed here; top-k is
computed here from the logits.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from types import ModuleType

import torch

logger = logging.getLogger(__name__)


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """``{"top1": ..., "top5": ...}`` in [0, 1]; k larger than the number of classes is clipped."""
    if scores.shape[0] != labels.shape[0] or scores.shape[0] == 0:
        raise ValueError(f"Need one score row per label, got {tuple(scores.shape)} and {tuple(labels.shape)}.")
    out = {}
    for k in ks:
        top = scores.topk(min(k, scores.shape[1]), dim=1).indices
        out[f"top{k}"] = (top == labels[:, None]).any(dim=1).float().mean().item()
    return out


def import_evaluate_library() -> ModuleType:
    """``import evaluate`` (the Hugging Face library), even when run from ``examples/``, where
    ``examples/evaluate.py`` would shadow it on ``sys.path``."""
    module = sys.modules.get("evaluate")
    if module is not None and hasattr(module, "load"):
        return module
    sys.modules.pop("evaluate", None)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if not (Path(p or ".").resolve() / "evaluate.py").is_file()]
    try:
        return importlib.import_module("evaluate")
    finally:
        sys.path[:] = saved


def evaluate_top1(predictions: torch.Tensor, labels: torch.Tensor) -> float | None:
    """Top-1 with ``evaluate.load("accuracy")`` when its script is already cached, else None.

    The lookup is forced offline (no network wait): the metric is used only where it works offline.
    """
    try:
        evaluate = import_evaluate_library()
        offline = evaluate.config.HF_EVALUATE_OFFLINE
        evaluate.config.HF_EVALUATE_OFFLINE = True
        try:
            metric = evaluate.load("accuracy")
        finally:
            evaluate.config.HF_EVALUATE_OFFLINE = offline
    except Exception as err:  # not cached: say so plainly (the lookup's error text only at DEBUG), don't fail
        logger.info("The evaluate library's accuracy metric is not cached here; top-1/top-5 come from "
                    "mgm_hf.training.metrics.topk_accuracy.")
        logger.debug("evaluate.load('accuracy') failed: %s: %s", type(err).__name__, err)
        return None
    return float(metric.compute(predictions=predictions.tolist(), references=labels.tolist())["accuracy"])


__all__ = ["evaluate_top1", "import_evaluate_library", "topk_accuracy"]
