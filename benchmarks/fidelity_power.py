"""Can the benchmark say yes at all? Checks of the dataset that need no pretrained model.

* **Motion-feature probe**: a linear probe on hand-made features of the motion field. If it is far
  above chance, the labels are learnable from motion; if a model stays at chance, the model (or the
  budget) failed, not the data.
* **One-frame pixel probes**: a linear probe on the pixels of the first (or middle) frame. The first
  frame does not depend on the label by construction, so this probe must sit at chance; the middle
  frame shows where the actor has got to (a partial cue without motion: 0.36–0.40 in pilots).

Hand-made motion features, per frame t of a motion field (T, h, w, 2): subtract the background
motion (the per-component median over cells: the camera pan), keep the cells that still move
(|r| > 0.5 px); then ``a_t`` = the sum of their unit directions / cells (2 values: the actor has 4-16x
the area of any distractor, so it dominates), the moving area and mean residual speed, and between
frames ``a_t × a_{t-1}`` and ``a_t · a_{t-1}`` (turning sense and persistence). 4 T + 2 (T - 1)
values per clip.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from fidelity_data import ClipSet
from fidelity_train import linear_probe_correct


def motion_features(motion: np.ndarray) -> torch.Tensor:
    """(N, T, h, w, 2) motion -> (N, 4 T + 2 (T - 1)) hand-made features (see the module docstring)."""
    m = torch.as_tensor(np.asarray(motion, np.float32))
    n, t = m.shape[:2]
    cells = m.shape[2] * m.shape[3]
    flat = m.reshape(n, t, cells, 2)
    residual = flat - flat.median(dim=2, keepdim=True).values
    speed = residual.norm(dim=-1)  # (N, T, cells)
    moving = speed > 0.5
    unit = torch.where(moving[..., None], residual / speed.clamp_min(1e-6)[..., None], torch.zeros_like(residual))
    a = unit.sum(2) / cells  # (N, T, 2)
    area = moving.float().mean(2)
    mean_speed = (speed * moving).sum(2) / cells
    cross = a[:, 1:, 0] * a[:, :-1, 1] - a[:, 1:, 1] * a[:, :-1, 0]
    dot = (a[:, 1:] * a[:, :-1]).sum(-1)
    return torch.cat([a.reshape(n, -1), area, mean_speed, cross, dot], dim=1)


def frame_pixels(clips: ClipSet, frame: int, pool: int = 4) -> torch.Tensor:
    """(N, 3 (H / pool)(W / pool)) pixels of one frame, average-pooled."""
    x = torch.as_tensor(clips.frames[:, frame]).permute(0, 3, 1, 2).float() / 255.0
    return F.avg_pool2d(x, pool).flatten(1)


def power_checks(train: ClipSet, validation: ClipSet) -> dict[str, float]:
    """Top-1 of the motion-feature probes (exact motion, H.264 vectors) and one-frame pixel probes."""
    y_train, y_val = torch.as_tensor(train.labels), torch.as_tensor(validation.labels)

    def probe(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(linear_probe_correct(a, y_train, b, y_val).float().mean())

    middle = train.frames.shape[1] // 2
    return {
        "motion_feature_probe_exact": probe(motion_features(train.motion), motion_features(validation.motion)),
        "motion_feature_probe_vectors": probe(motion_features(train.vectors), motion_features(validation.vectors)),
        "first_frame_pixel_probe": probe(frame_pixels(train, 0), frame_pixels(validation, 0)),
        "middle_frame_pixel_probe": probe(frame_pixels(train, middle), frame_pixels(validation, middle)),
    }


__all__ = ["frame_pixels", "motion_features", "power_checks"]
