"""Warping maps with flow, batched on any device (used by ``mgmae``).

All flows here are in *map cells* and anchored at one frame: ``flow[n, y, x] = (dx, dy)``. Two
operations (MGMAE section 3.2, "Warp masking maps with flows"):

* ``backward_warp(m, f)``: ``out(p) = m(p + f(p))``, bilinear, zeros outside the map (so a value
  that comes from outside the map is exactly 0: a hole, with MGMAE's 1e-8 trick);
* ``forward_warp(m, f)``: every cell p of ``m`` is splatted to ``p + f(p)`` with bilinear weights and
  the weighted average is kept; a cell nobody lands on is exactly 0 (a hole).

``invert_flow`` turns a flow anchored at the destination frame into one anchored at the source
frame by fixed-point iteration, ``f(p) = g(p + f(p))``: exact for a uniform translation after the
first step, and it converges for smooth flows whose gradient is below 1.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=32)
def _identity_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """grid_sample's normalised coordinates of the cell centres (1, h, w, 2), and cells -> units (2,)."""
    ys = (torch.arange(h, device=device, dtype=dtype) + 0.5) * (2.0 / h) - 1.0  # align_corners=False
    xs = (torch.arange(w, device=device, dtype=dtype) + 0.5) * (2.0 / w) - 1.0
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).unsqueeze(0)
    return grid, torch.tensor([2.0 / w, 2.0 / h], device=device, dtype=dtype)


def _sampling_grid(flow: torch.Tensor, flow_scale: float = 1.0) -> torch.Tensor:
    """(N, h, w, 2) cell offsets -> grid_sample's normalised grid for ``p + flow_scale * flow(p)``.

    ``flow_scale`` multiplies the cells -> units factors (exact for -1: a negated flow without a copy).
    When each map row of ``flow`` is contiguous the sum runs on (N, h, w * 2) rows, so the
    vectorised loop is not cut into runs of 2 by broadcasting; every element gets the same
    ``identity + flow * scale`` either way.
    """
    n, h, w, _ = flow.shape
    identity, scale = _identity_grid(h, w, flow.device, flow.dtype)
    if flow_scale != 1.0:
        scale = scale * flow_scale
    if flow.stride()[1:] == (w * 2, 2, 1):
        rows = torch.addcmul(identity.view(1, h, w * 2), flow.view(n, h, w * 2), scale.repeat(w))
        return rows.view(n, h, w, 2)
    return torch.addcmul(identity, flow, scale)


def backward_warp(values: torch.Tensor, flow: torch.Tensor, flow_scale: float = 1.0) -> torch.Tensor:
    """``out(p) = values(p + flow_scale * flow(p))`` (bilinear, zeros padding).

    Args:
        values: (N, C, h, w).
        flow: (N, h, w, 2) in cells, anchored at the output.
        flow_scale: factor on the flow (-1: warp along the negated flow without copying it).

    Returns:
        (N, C, h, w).
    """
    grid = _sampling_grid(flow, flow_scale)
    return F.grid_sample(values, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def invert_flow(flow: torch.Tensor, iterations: int) -> torch.Tensor:
    """Given ``g`` anchored at frame d (content at q of d comes from ``q - g(q)``), the flow ``f``
    anchored at the other frame with ``f(p) = g(p + f(p))`` (content at p goes to ``p + f(p)``).

    Args:
        flow: (N, h, w, 2) ``g`` in cells.
        iterations: fixed-point refinements after the start ``f = g``.

    Returns:
        (N, h, w, 2) ``f`` in cells.
    """
    channels = flow.permute(0, 3, 1, 2)  # (N, 2, h, w)
    inverse = flow
    for _ in range(iterations):
        sampled = F.grid_sample(
            channels, _sampling_grid(inverse), mode="bilinear", padding_mode="border", align_corners=False
        )
        inverse = sampled.permute(0, 2, 3, 1)
    return inverse


def forward_warp(values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Average splatting: each cell p of ``values`` goes to ``p + flow(p)`` with bilinear weights.

    Args:
        values: (N, 1, h, w).
        flow: (N, h, w, 2) in cells, anchored at the input.

    Returns:
        (N, 1, h, w): weighted average of what landed on each cell, exactly 0 where nothing did.
    """
    n, _, h, w = values.shape
    device = values.device
    x = torch.arange(w, device=device, dtype=flow.dtype).view(1, 1, w) + flow[..., 0]
    y = torch.arange(h, device=device, dtype=flow.dtype).view(1, h, 1) + flow[..., 1]
    x0, y0 = x.floor(), y.floor()
    offset = (torch.arange(n, device=device) * (h * w)).view(n, 1, 1)
    flat_values = values.reshape(n, h, w)
    numerator = torch.zeros(n * h * w, device=device, dtype=values.dtype)
    denominator = torch.zeros_like(numerator)
    for cx, cy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        xi, yi = x0 + cx, y0 + cy
        weight = (1 - (x - xi).abs()) * (1 - (y - yi).abs())
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        weight = torch.where(inside, weight, torch.zeros_like(weight)).reshape(-1)
        index = (offset + yi.clamp(0, h - 1).long() * w + xi.clamp(0, w - 1).long()).reshape(-1)
        numerator.index_add_(0, index, weight * flat_values.reshape(-1))
        denominator.index_add_(0, index, weight)
    out = torch.where(denominator > 0, numerator / denominator.clamp_min(1e-12), torch.zeros_like(numerator))
    return out.view(n, 1, h, w)
