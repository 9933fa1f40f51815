"""Fidelity benchmark v3: pretraining, frozen probes and fine-tuning of the tiny model, in memory.

Seed-matched: for a given seed every strategy starts from the same initial weights, sees the same
pretraining clips in the same order, and its fine-tune starts from the same head and visits the
labelled clips in the same order. Only the masks (and what they do to the weights) differ.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fidelity_data import ClipSet, motion_tensor, pixel_values
from fidelity_scenes import symmetry_augment
from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.masking import MaskingStrategy
from mgm_hf.models.transfer import classifier_from_pretrained
from mgm_hf.training.recipe.optim import (
    build_adamw,
    cosine_schedule,
    default_base_lr,
    param_groups,
    scaled_lr,
)

MotionSource = str  # "none", "vectors" (H.264) or "exact" (the rendered motion: a perfect optical flow)


def motion_of(clips: ClipSet, index: np.ndarray, source: MotionSource) -> torch.Tensor | None:
    """(B, T, h, w, 2) motion of ``clips[index]`` from ``source``, or None."""
    if source == "none":
        return None
    if source == "vectors":
        return motion_tensor(clips.vectors[index])
    if source == "exact":
        return motion_tensor(clips.motion[index])
    raise ValueError(f"unknown motion source {source!r}")


def tiny_model(seed: int, masking: dict[str, Any]) -> MGMVideoMAE:
    """The tiny preset with ``masking``; its initial weights depend on ``seed`` only."""
    torch.manual_seed(seed)
    return MGMVideoMAE(MGMVideoMAEConfig.from_preset("tiny", masking=masking))


@dataclass
class PretrainResult:
    model: MGMVideoMAE
    losses: list[float]
    seconds: float
    step_seconds: float


def pretrain(model: MGMVideoMAE, strategy: MaskingStrategy, source: MotionSource, pool: ClipSet, seed: int,
             steps: int, batch_size: int, warmup_steps: int, lr: float | None = None) -> PretrainResult:
    """``steps`` AdamW steps (the tiny recipe: base lr 3.2e-2 × B / 256, betas (0.9, 0.95), weight
    decay 0.05, warmup then cosine) on pool clips in the seed's order (each seen once while
    ``steps × B <= len(pool)``), masks from ``strategy`` drawn with a seed-derived generator.
    ``lr`` overrides the peak learning rate."""
    if lr is None:
        lr = scaled_lr(default_base_lr("pretrain", model.config.hidden_size), batch_size)
    optimizer = build_adamw(param_groups(model, weight_decay=0.05), lr=lr, betas=(0.9, 0.95))
    schedule = cosine_schedule(optimizer, warmup_steps, steps)
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed)).numpy()
    masks = torch.Generator().manual_seed(10_000 + seed)
    model.train()
    losses = []
    start = time.perf_counter()
    for step in range(steps):
        index = np.take(order, np.arange(step * batch_size, (step + 1) * batch_size), mode="wrap")
        x = pixel_values(pool.frames[index])
        mask = strategy(batch_size, motion=motion_of(pool, index, source), generator=masks)
        loss = model(pixel_values=x, bool_masked_pos=mask).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    model.eval()
    return PretrainResult(model, losses, seconds, seconds / max(steps, 1))


@torch.no_grad()
def heldout_loss(model: MGMVideoMAE, strategy: MaskingStrategy, source: MotionSource, clips: ClipSet,
                 seed: int = 0, batch_size: int = 64) -> float:
    """Mean masked-reconstruction loss on ``clips`` with ``strategy``'s masks from a fixed seed (the
    same masks for every model given the same strategy and source)."""
    from mgm_hf.mask_metrics import pretraining_loss

    index = np.arange(len(clips))
    motion = motion_of(clips, index, source)
    return pretraining_loss(model, pixel_values(clips.frames), motion, strategy, seed=seed, batch_size=batch_size)


@torch.no_grad()
def encoder_features(model: MGMVideoMAE, clips: ClipSet, batch_size: int = 64) -> dict[str, torch.Tensor]:
    """Frozen features of every clip (no mask, all tokens): ``"mean"`` (N, D) the mean over tokens,
    ``"time"`` (N, T' × D) the mean over space per tubelet time step, concatenated in time order."""
    model.eval()
    steps = model.config.num_frames // model.config.tubelet_size
    mean, per_time = [], []
    for i in range(0, len(clips), batch_size):
        hidden = model.videomae(pixel_values(clips.frames[i : i + batch_size])).last_hidden_state  # (B, L, D)
        b, _, d = hidden.shape
        mean.append(hidden.mean(1))
        per_time.append(hidden.reshape(b, steps, -1, d).mean(2).reshape(b, steps * d))
    return {"mean": torch.cat(mean), "time": torch.cat(per_time)}


def knn_correct(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, test_labels: torch.Tensor,
                k: int = 10, temperature: float = 0.07) -> torch.Tensor:
    """Weighted k-NN on cosine similarity (DINO's: votes weighted by exp(sim / T)); (N_test,) bool
    correct (its mean is the top-1)."""
    train, test = F.normalize(train.float(), dim=1), F.normalize(test.float(), dim=1)
    sims, idx = (test @ train.T).topk(min(k, train.shape[0]), dim=1)
    votes = torch.zeros(test.shape[0], int(train_labels.max()) + 1)
    votes.scatter_add_(1, train_labels[idx], (sims / temperature).exp())
    return votes.argmax(1) == test_labels


def linear_probe_correct(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor,
                         test_labels: torch.Tensor, weight_decay: float = 1e-2, iterations: int = 100,
                         num_classes: int | None = None) -> torch.Tensor:
    """Multinomial logistic regression on standardised features (train statistics), L2 penalty
    ``weight_decay / 2 · |W|²`` on the mean cross-entropy, full-batch L-BFGS; (N_test,) bool correct."""
    train, test = train.double(), test.double()
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    train, test = (train - mean) / std, (test - mean) / std
    classes = num_classes or int(train_labels.max()) + 1
    weight = torch.zeros(train.shape[1], classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(train @ weight + bias, train_labels) + 0.5 * weight_decay * weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return (test @ weight + bias).argmax(1) == test_labels


@dataclass
class FinetuneResult:
    final_top1: float
    best_top1: float
    curve: list[dict[str, float]] = field(default_factory=list)  # {"epoch", "val_top1", "train_loss", "train_top1"}
    correct: np.ndarray | None = None  # (N_val,) bool, final model
    seconds: float = 0.0
    step_seconds: float = 0.0


@torch.no_grad()
def _predict(model: torch.nn.Module, clips: ClipSet, batch_size: int = 64) -> torch.Tensor:
    model.eval()
    out = [model(pixel_values=pixel_values(clips.frames[i : i + batch_size])).logits.argmax(1)
           for i in range(0, len(clips), batch_size)]
    return torch.cat(out)


def finetune(pretrained_dir: Path, train: ClipSet, validation: ClipSet, seed: int, epochs: int,
             eval_every: int, batch_size: int, id2label: dict[int, str], lr: float | None = None,
             layer_decay: float | None = 0.75, augment: bool = False,
             log: Callable[[str], None] = print) -> FinetuneResult:
    """Full fine-tune of the pretrained encoder with a fresh mean-pooling head (the tiny recipe:
    base lr 1e-2 × B / 256, layer decay 0.75, weight decay 0.05, warmup 10 % then cosine to 0),
    ``epochs`` passes over ``train`` in seed-derived order; validation top-1 every ``eval_every``
    epochs and at the end. ``augment``: every training clip goes through a random symmetry of the
    square with its direction label mapped to match (``fidelity_scenes.symmetry_augment``; seed-derived
    draws, the same for every strategy). ``lr`` overrides the peak learning rate, ``layer_decay=None``
    gives every layer the same lr."""
    torch.manual_seed(seed)  # the head's initial weights: the same for every strategy at this seed
    model = classifier_from_pretrained(str(pretrained_dir), id2label)
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total = epochs * steps_per_epoch
    if lr is None:
        lr = scaled_lr(default_base_lr("finetune", model.config.hidden_size), batch_size)
    groups = param_groups(model, weight_decay=0.05, layer_decay=layer_decay)
    optimizer = build_adamw(groups, lr=lr, betas=(0.9, 0.999))
    schedule = cosine_schedule(optimizer, max(1, total // 10), total)
    labels = torch.as_tensor(train.labels)
    val_labels = torch.as_tensor(validation.labels)
    order_gen = torch.Generator().manual_seed(20_000 + seed)
    augment_rng = np.random.default_rng(30_000 + seed)
    curve: list[dict[str, float]] = []
    start = time.perf_counter()
    train_seconds = 0.0

    def evaluate(epoch: int, loss: float, acc: float) -> torch.Tensor:
        correct = _predict(model, validation) == val_labels
        curve.append({"epoch": epoch, "val_top1": float(correct.float().mean()), "train_loss": loss, "train_top1": acc})
        return correct

    correct = evaluate(0, float("nan"), float("nan"))
    for epoch in range(1, epochs + 1):
        model.train()
        tick = time.perf_counter()
        order = torch.randperm(len(train), generator=order_gen).numpy()
        seen, loss_sum, hits = 0, 0.0, 0
        for i in range(0, len(train), batch_size):
            index = order[i : i + batch_size]
            frames, batch_labels = train.frames[index], labels[index]
            if augment:
                frames, flipped = symmetry_augment(frames, batch_labels.numpy(), augment_rng)
                batch_labels = torch.as_tensor(flipped)
            out = model(pixel_values=pixel_values(frames), labels=batch_labels)
            out.loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            seen += len(index)
            loss_sum += out.loss.item() * len(index)
            hits += int((out.logits.argmax(1) == batch_labels).sum())
        train_seconds += time.perf_counter() - tick
        if epoch % eval_every == 0 or epoch == epochs:
            correct = evaluate(epoch, loss_sum / seen, hits / seen)
            log(f"    epoch {epoch}: train loss {loss_sum / seen:.3f}, train top-1 {hits / seen:.3f}, "
                f"val top-1 {curve[-1]['val_top1']:.3f}")
    return FinetuneResult(
        final_top1=curve[-1]["val_top1"], best_top1=max(c["val_top1"] for c in curve), curve=curve,
        correct=correct.numpy(), seconds=time.perf_counter() - start,
        step_seconds=train_seconds / max(total, 1),
    )


__all__ = ["FinetuneResult", "PretrainResult", "encoder_features", "finetune", "heldout_loss", "knn_correct",
           "linear_probe_correct", "motion_of", "pretrain", "tiny_model"]
