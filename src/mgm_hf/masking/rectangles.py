"""Dense rectangles on the token grid with an exact masked count (shared by ``smm`` and ``mgm``).

MGM's masks (sections 3.2–3.3) are rectangles [x, y, w, h] in token units whose area is set by the
mask ratio. A real-valued rectangle covers a varying number of whole tokens, but VideoMAE needs the
same count in every row. We therefore rank tokens by their *normalised Chebyshev distance* to the
rectangle's centre, ``d = max(|x - cx| / (w / 2), |y - cy| / (h / 2))`` (d <= 1 inside the
rectangle), and mask the tokens with the smallest d: the result is the rectangle with the given
centre and aspect ratio, grown or shrunk uniformly until it holds exactly the wanted count. Ties on
a ring are broken towards the round shape (Euclidean distance) and then by tiny noise from the
caller's generator, so the same seed gives the same mask on every device.
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


def rectangle_mask(
    centres: torch.Tensor,
    sizes: torch.Tensor,
    grid: tuple[int, int],
    num_masked: int,
    tie_noise: torch.Tensor,
    per_frame: bool = True,
) -> torch.Tensor:
    """Masks the tokens closest (normalised Chebyshev distance) to each time step's rectangle.

    Args:
        centres: (B, T', 2) (cx, cy) in token units, already clamped.
        sizes: (B, T', 2) (w, h) in token units, positive.
        grid: (h, w).
        num_masked: masked tokens per time step (``per_frame``) or per clip.
        tie_noise: (B, T', h, w) uniform [0, 1) noise that breaks exact ties.
        per_frame: exact count per time step (True) or per clip (False: a time step with a larger
            rectangle then gets more tokens, as SMM's scale jitter intends).

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
    score = chebyshev + 1e-3 * euclid + 1e-6 * tie_noise  # smaller = more inside
    flat = score.reshape(batch, steps * h * w) if not per_frame else score.reshape(batch, steps, h * w)
    index = flat.topk(num_masked, dim=-1, largest=False).indices
    mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(-1, index, True)
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
