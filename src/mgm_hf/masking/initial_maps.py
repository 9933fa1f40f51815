"""MGMAE's initial visibility maps of the base frame (section 3.2, Table 1d), batched.

A map is (B, H_m, W_m) float in [0, 1] on a grid of ``stride``-pixel cells (stride 1 = pixels):
1 = visible, 0 = invisible. Callers clamp it to >= 1e-8 so warping holes (exact zeros) stay
detectable (MGMAE section 4.2, "Hole filling").
"""

from __future__ import annotations

import torch


def pick_visible_tokens(noise: torch.Tensor, num_visible: int) -> torch.Tensor:
    """(B, h, w) uniform noise -> (B, h, w) float, 1 on the ``num_visible`` smallest-noise tokens."""
    batch = noise.shape[0]
    flat = noise.reshape(batch, -1)
    index = flat.topk(num_visible, dim=1, largest=False).indices
    return torch.zeros_like(flat).scatter_(1, index, 1.0).view_as(noise)


def token_random_map(visible: torch.Tensor, cells_per_patch: int) -> torch.Tensor:
    """Table 1d "token rand.": each token's cells all 1 (visible) or all 0.

    Args:
        visible: (B, h, w) 0/1.
        cells_per_patch: patch_size // stride.

    Returns:
        (B, h * cells_per_patch, w * cells_per_patch).
    """
    return visible.repeat_interleave(cells_per_patch, dim=1).repeat_interleave(cells_per_patch, dim=2)


def pixel_random_map(noise: torch.Tensor, mask_ratio: float) -> torch.Tensor:
    """Table 1d "pixel rand.": a ``1 - mask_ratio`` share of the cells visible, independently.

    Args:
        noise: (B, H_m, W_m) uniform noise.

    Returns:
        (B, H_m, W_m) 0/1, exactly ``cells - floor(mask_ratio * cells)`` ones per map (no ties).
    """
    batch = noise.shape[0]
    flat = noise.reshape(batch, -1)
    num_visible = flat.shape[1] - int(mask_ratio * flat.shape[1] + 1e-6)
    threshold = flat.kthvalue(num_visible, dim=1, keepdim=True).values
    return (flat <= threshold).to(noise.dtype).view_as(noise)


def gaussian_mixture_map(
    visible: torch.Tensor, patch_size: int, stride: int, sigma: float, combine: str = "max"
) -> torch.Tensor:
    """Section 3.2 "Generate the initial mask map": a Gaussian bump ``exp(-d^2 / (2 sigma^2))`` on the
    centre of every visible token, mixed, then divided by its maximum so the map lies in [0, 1].

    Two mixtures:

    * ``"max"``, MGMAE's official code (``MixGaussianInitialMaskingGenerator`` with its default
      ``method='max'``, whose kernel ``exp(-d^2 / p^2)`` is std ``p / sqrt(2)``): each cell takes its
      nearest chosen centre's value. A chosen token's cells are nearer its own centre than any other
      centre, so at the base frame the chosen tokens have the largest token means whatever their
      position, and a top-k over token means returns exactly (a subset of) the chosen tokens.
    * ``"sum"``, the paper's formula ``P = sum_i N_i(c_i, sigma^2)``: overlapping bumps add up, so a
      token among many chosen neighbours (the interior) outweighs one at the border; at 14 × 14
      tokens and ratio 0.9 (sigma = p) a border token is about half as likely to be kept visible.

    The sum is separable, ``G_y @ V @ G_x^T`` (two small matmuls, no loop over tokens).

    Args:
        visible: (B, h, w) 0/1, the chosen tokens (the same number in every row).
        patch_size: pixels per token side.
        stride: pixels per map cell.
        sigma: standard deviation in pixels.
        combine: ``"max"`` or ``"sum"``.

    Returns:
        (B, h * patch_size // stride, w * patch_size // stride).
    """
    batch, h, w = visible.shape
    device, dtype = visible.device, visible.dtype
    cells = patch_size // stride

    def axis(tokens: int) -> torch.Tensor:  # (tokens * cells, tokens) Gaussian weights along one axis
        pixel = (torch.arange(tokens * cells, device=device, dtype=dtype) + 0.5) * stride
        centre = (torch.arange(tokens, device=device, dtype=dtype) + 0.5) * patch_size
        return torch.exp(-((pixel[:, None] - centre[None, :]) ** 2) / (2 * sigma**2))

    g_y, g_x = axis(h), axis(w)
    if combine == "sum":
        mixture = g_y @ visible @ g_x.T  # (B, H_m, W_m)
    elif combine == "max":  # one separable Gaussian per chosen token, maxed in place: (B, H_m, W_m) memory
        num_visible = max(int(visible[0].sum().item()), 1)
        index = visible.reshape(batch, -1).topk(num_visible, dim=1).indices  # (B, n_visible)
        rows = g_y[:, index // w].permute(1, 2, 0)  # (B, n_visible, H_m)
        cols = g_x[:, index % w].permute(1, 2, 0)  # (B, n_visible, W_m)
        mixture = rows[:, 0, :, None] * cols[:, 0, None, :]
        for k in range(1, num_visible):
            torch.maximum(mixture, rows[:, k, :, None] * cols[:, k, None, :], out=mixture)
    else:
        raise ValueError(f"combine must be 'max' or 'sum', got {combine!r}.")
    return mixture / mixture.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)
