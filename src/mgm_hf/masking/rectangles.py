"""Dense rectangles on the token grid with an exact masked count (shared by ``smm`` and ``mgm``).

MGM's masks (sections 3.2–3.3) are rectangles [x, y, w, h] in token units whose area is set by the
mask ratio. A real-valued rectangle covers a varying number of whole tokens, but VideoMAE needs the
same count in every row. We therefore rank tokens by their *normalised Chebyshev distance* to the
rectangle's centre, ``d = max(|x - cx| / (w / 2), |y - cy| / (h / 2))`` (d <= 1 inside the
rectangle), and mask the tokens with the smallest d: the result is the rectangle with the given
centre and aspect ratio, grown or shrunk uniformly until it holds exactly the wanted count. Ties on
a ring are broken towards the round shape (Euclidean distance) and then by tiny noise from the
caller's generator, so the same seed gives the same mask on every device.

Per-step counts: either the same for every time step (``count="frame"``), or, when the clip total is
fixed but the area may vary (``count="clip"``, MGM eqs. 5 and 7: ``sum_t s_t = 0`` "so that the number
of masked patches remains fixed"), :func:`allocate_counts` shares the clip total between the steps in
proportion to their rectangles' areas. (Ranking all steps' tokens together by one distance threshold
instead makes rectangles near the border lose the tokens their scaled copy would have outside the
frame: at ratio 0.9 on 14 × 14 tokens per-step counts then ranged 169 to 196 even without jitter.)
"""

from __future__ import annotations

import torch


def clamp_rectangles(
    centres: torch.Tensor, sizes: torch.Tensor, grid: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keeps rectangles inside the grid: size <= grid extent, centre in [size / 2, extent - size / 2].

    Args:
        centres: (..., 2) (cx, cy) in token units (token (y, x) spans [x, x + 1) × [y, y + 1)).
        sizes: (..., 2) (w, h) in token units.
        grid: (h, w) token grid.

    Returns:
        (centres, sizes), same shapes.
    """
    extent = torch.tensor([grid[1], grid[0]], dtype=centres.dtype, device=centres.device)
    sizes = torch.minimum(sizes.clamp_min(1e-3), extent)
    centres = torch.maximum(torch.minimum(centres, extent - sizes / 2), sizes / 2)
    return centres, sizes


def allocate_counts(areas: torch.Tensor, total: int, capacity: int) -> torch.Tensor:
    """Splits a clip's masked total between its time steps in proportion to their areas.

    Step t gets ``n + k (n A_t / mean(A) - n)`` tokens with ``n = total / T'``: the proportional share
    when ``k = 1``. Where a share would leave a step with no visible or no masked token (outside
    ``[1, capacity - 1]``; at high ratios the frame leaves little room to grow), the clip's deviations
    are all scaled down by the same ``k < 1``, so their pattern is kept. Integer counts: floors plus
    one token for the largest remainders, so every row sums to ``total`` exactly.

    Args:
        areas: (B, T') positive rectangle areas, in tokens.
        total: masked tokens per clip, at most ``T' * capacity``.
        capacity: tokens per time step (h * w).

    Returns:
        (B, T') long counts, each row summing to ``total``.
    """
    batch, steps = areas.shape
    mean = total / steps
    areas = areas.double()
    deviation = mean * (areas / areas.mean(dim=1, keepdim=True).clamp_min(1e-12)) - mean  # (B, T'), sums to 0
    room_up, room_down = max(capacity - 1 - mean, 0.0), max(mean - 1, 0.0)
    limit = torch.where(deviation > 0, room_up / deviation.clamp_min(1e-12), room_down / (-deviation).clamp_min(1e-12))
    scale = limit.amin(dim=1, keepdim=True).clamp(max=1.0)
    share = (mean + scale * deviation).clamp(0, capacity)
    counts = share.floor()
    missing = total - counts.sum(dim=1, keepdim=True)  # (B, 1): 0 <= missing < T' (float error aside)
    order = (share - counts).argsort(dim=1, descending=True, stable=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(steps, device=areas.device).expand(batch, steps))
    counts = counts + (rank < missing).to(counts.dtype)
    return counts.long()


def rectangle_mask(
    centres: torch.Tensor,
    sizes: torch.Tensor,
    grid: tuple[int, int],
    counts: int | torch.Tensor,
    tie_noise: torch.Tensor,
) -> torch.Tensor:
    """Masks, per time step, the ``counts`` tokens closest (normalised Chebyshev distance) to its
    rectangle.

    Args:
        centres: (B, T', 2) (cx, cy) in token units, already clamped.
        sizes: (B, T', 2) (w, h) in token units, positive.
        grid: (h, w).
        counts: masked tokens per time step: one int for every step, or (B, T') long (e.g. from
            :func:`allocate_counts`).
        tie_noise: (B, T', h, w) uniform [0, 1) noise that breaks exact ties.

    Returns:
        BoolTensor (B, T' * h * w) in VideoMAE order ``t * (h * w) + y * w + x``.
    """
    h, w = grid
    batch, steps, _ = centres.shape
    device = centres.device
    ys = torch.arange(h, device=device, dtype=torch.float32) + 0.5
    xs = torch.arange(w, device=device, dtype=torch.float32) + 0.5
    dx = (xs.view(1, 1, 1, w) - centres[..., 0, None, None]) / (sizes[..., 0, None, None] / 2)
    dy = (ys.view(1, 1, h, 1) - centres[..., 1, None, None]) / (sizes[..., 1, None, None] / 2)
    chebyshev = torch.maximum(dx.abs(), dy.abs())  # (B, T', h, w)
    euclid = torch.sqrt(dx**2 + dy**2)
    score = (chebyshev + 1e-3 * euclid + 1e-6 * tie_noise).reshape(batch, steps, h * w)  # smaller = inside
    if isinstance(counts, int):
        index = score.topk(counts, dim=-1, largest=False).indices
        mask = torch.zeros_like(score, dtype=torch.bool).scatter_(-1, index, True)
    else:  # rank of every token within its step, masked where below the step's count
        order = score.argsort(dim=-1)
        rank = torch.empty_like(order).scatter_(-1, order, torch.arange(h * w, device=device).expand_as(order))
        mask = rank < counts.to(device).unsqueeze(-1)
    return mask.reshape(batch, steps * h * w)


def zero_sum_walk(steps: torch.Tensor) -> torch.Tensor:
    """Cumulative sizes offsets from random steps made to sum to zero (MGM eqs. 5 and 7).

    Args:
        steps: (B, T', ...) raw steps; step 0 is ignored (the first rectangle keeps its size).

    Returns:
        (B, T', ...) offsets with offset[0] = 0 and ``sum_t s_t = 0`` over t in [1, T'), so the last
        time step returns to the initial size.
    """
    s = steps[:, 1:]
    s = s - s.mean(dim=1, keepdim=True)
    offsets = torch.cumsum(s, dim=1)
    return torch.cat([torch.zeros_like(steps[:, :1]), offsets], dim=1)
