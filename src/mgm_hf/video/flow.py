"""Optical-flow backends behind one interface, in mgm_hf's motion convention.

``backend(prev, next)`` returns, at the pixels of ``next`` (frame t), how far the content moved
since ``prev`` (frame t-1). OpenCV's ``calcOpticalFlow*(I0, I1)`` gives, at I0's pixels, where they
go in I1; so we compute ``calc(next, prev)`` (at frame t's pixels: where each pixel was in frame t-1)
and negate it. ``tests/test_flow.py`` proves the sign on a square with known motion.

Backends: ``dis`` (default; presets ``ultrafast``/``fast``/``medium``, also spelled ``dis:medium``),
``farneback``, ``tvl1`` (needs opencv-contrib), ``raft`` (needs torchvision and cached weights).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar, Protocol

import cv2
import numpy as np
import torch

__all__ = [
    "FlowBackend",
    "available_flow_backends",
    "estimate_flow",
    "estimate_flow_batch",
    "get_flow_backend",
    "register_flow_backend",
]


class FlowBackend(Protocol):
    """``backend(prev, next) -> float32 (H, W, 2)``; inputs uint8 ``(H, W, 3)`` RGB."""

    name: str

    def __call__(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray: ...


def _gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.shape[-1] == 1:
        return np.ascontiguousarray(frame[..., 0])
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


class _OpenCVFlow:
    """Shared part of the OpenCV backends: one solver per thread, backward flow negated."""

    name = ""

    def __init__(self) -> None:
        self._local = threading.local()

    def _solver(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _calc(self, frm: np.ndarray, to: np.ndarray) -> np.ndarray:
        solver = getattr(self._local, "solver", None)
        if solver is None:
            solver = self._local.solver = self._solver()
        return solver.calc(frm, to, None)

    def __call__(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        backward = self._calc(_gray(next), _gray(prev))  # at next's pixels: where they were in prev
        return np.negative(backward, dtype=np.float32)


class DISFlow(_OpenCVFlow):
    """OpenCV DIS optical flow (the default backend). ``preset``: ``ultrafast``, ``fast`` or ``medium``
    (default: the most accurate; ``fast`` underestimates small objects, see tests/test_flow.py)."""

    _PRESETS: ClassVar[dict[str, int]] = {
        "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
        "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
        "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
    }

    def __init__(self, preset: str = "medium") -> None:
        if preset not in self._PRESETS:
            raise ValueError(f"DIS preset must be one of {sorted(self._PRESETS)}, got {preset!r}.")
        super().__init__()
        self.preset = preset
        self.name = f"dis:{preset}"

    def _solver(self):
        return cv2.DISOpticalFlow_create(self._PRESETS[self.preset])


class FarnebackFlow(_OpenCVFlow):
    """OpenCV Farneback dense flow (pyramid 0.5, 3 levels, window 15)."""

    name = "farneback"

    def _calc(self, frm: np.ndarray, to: np.ndarray) -> np.ndarray:
        return cv2.calcOpticalFlowFarneback(frm, to, None, 0.5, 3, 15, 3, 5, 1.2, 0)


class TVL1Flow(_OpenCVFlow):
    """Dual TV-L1 (OpenCV contrib ``cv2.optflow``); slow (~0.5 s per 224² pair on CPU, against 0.5–5 ms for DIS)."""

    name = "tvl1"

    def __init__(self) -> None:
        if not hasattr(cv2, "optflow") or not hasattr(cv2.optflow, "DualTVL1OpticalFlow_create"):
            raise ImportError(
                "The 'tvl1' flow backend needs OpenCV's contrib modules (cv2.optflow). Install "
                "opencv-contrib-python-headless (pip install 'mgm_hf[tvl1]') in place of "
                "opencv-python-headless."
            )
        super().__init__()

    def _solver(self):
        return cv2.optflow.DualTVL1OpticalFlow_create()


class RAFTFlow:
    """torchvision RAFT (small by default). Needs torchvision and its weights in the torch hub cache
    (or downloadable); runs on ``device``."""

    name = "raft"

    def __init__(self, small: bool = True, device: str | torch.device = "cpu") -> None:
        try:
            from torchvision.models import optical_flow
        except ImportError as err:
            raise ImportError(
                "The 'raft' flow backend needs torchvision (pip install 'mgm_hf[raft]')."
            ) from err
        try:
            if small:
                model = optical_flow.raft_small(weights=optical_flow.Raft_Small_Weights.DEFAULT)
            else:
                model = optical_flow.raft_large(weights=optical_flow.Raft_Large_Weights.DEFAULT)
        except (OSError, RuntimeError) as err:  # offline and not in the torch hub cache, or corrupt
            raise RuntimeError(
                "The 'raft' flow backend could not load torchvision's pretrained RAFT weights (they are "
                "downloaded once into the torch hub cache, $TORCH_HOME/hub/checkpoints): "
                f"{type(err).__name__}: {err}"
            ) from err
        self.model = model.eval().to(device)
        self.device = torch.device(device)

    @torch.no_grad()
    def __call__(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        h, w = prev.shape[:2]
        ph, pw = -(-h // 8) * 8, -(-w // 8) * 8  # RAFT needs sizes divisible by 8

        def prep(x: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float().to(self.device)
            t = torch.nn.functional.pad(t, (0, pw - w, 0, ph - h), mode="replicate")
            return t / 127.5 - 1.0

        backward = self.model(prep(next), prep(prev))[-1][0, :, :h, :w]
        return (-backward).permute(1, 2, 0).cpu().numpy().astype(np.float32)


_REGISTRY: dict[str, Callable[..., FlowBackend]] = {}
_CACHE: dict[tuple[str, tuple], FlowBackend] = {}


def register_flow_backend(name: str, factory: Callable[..., FlowBackend]) -> None:
    """Registers a backend factory under ``name``; duplicate names are rejected."""
    if name in _REGISTRY:
        raise ValueError(f"flow backend {name!r} is already registered.")
    _REGISTRY[name] = factory


def available_flow_backends() -> list[str]:
    """Registered backend names (some may still need an optional dependency)."""
    return sorted(_REGISTRY)


def get_flow_backend(name: str | FlowBackend = "dis", **kwargs) -> FlowBackend:
    """A backend by name (``"dis"``, ``"dis:medium"``, ``"farneback"``, ``"tvl1"``, ``"raft"``), cached
    per name and options; a backend object passes through."""
    if not isinstance(name, str):
        return name
    base, _, preset = name.partition(":")
    if preset:
        kwargs = {"preset": preset, **kwargs}
    if base not in _REGISTRY:
        raise KeyError(f"unknown flow backend {name!r}; available: {available_flow_backends()}.")
    key = (base, tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        _CACHE[key] = _REGISTRY[base](**kwargs)
    return _CACHE[key]


register_flow_backend("dis", DISFlow)
register_flow_backend("farneback", FarnebackFlow)
register_flow_backend("tvl1", TVL1Flow)
register_flow_backend("raft", RAFTFlow)


def estimate_flow(frames: np.ndarray, method: str | FlowBackend = "dis") -> np.ndarray:
    """Per-frame motion of a clip by optical flow.

    Args:
        frames: uint8 ``(T, H, W, 3)`` (or ``(T, H, W)`` grey).
        method: backend name or object.

    Returns:
        float32 ``(T, H, W, 2)``: ``out[t]`` = motion since ``frames[t-1]`` at frame t's pixels;
        ``out[0] = 0`` (no earlier frame given).
    """
    backend = get_flow_backend(method)
    frames = np.asarray(frames)
    out = np.zeros((*frames.shape[:3], 2), np.float32)
    for t in range(1, len(frames)):
        out[t] = backend(frames[t - 1], frames[t])
    return out


def estimate_flow_batch(pixel_values: torch.Tensor, method: str | FlowBackend = "dis") -> torch.Tensor:
    """:func:`estimate_flow` for a batch of normalised clips (used by masking when only pixels exist).

    Each clip is rescaled to 0..255 by its own min/max before the flow.

    Args:
        pixel_values: float ``(B, T, C, H, W)``, C = 3 (RGB) or 1.

    Returns:
        float32 ``(B, T, H, W, 2)`` on ``pixel_values``' device; ``[:, 0] = 0``.
    """
    if pixel_values.ndim != 5:
        raise ValueError(f"pixel_values must be (B, T, C, H, W), got {tuple(pixel_values.shape)}.")
    x = pixel_values.detach().float().cpu()
    lo = x.amin(dim=(1, 2, 3, 4), keepdim=True)
    hi = x.amax(dim=(1, 2, 3, 4), keepdim=True)
    x = ((x - lo) / (hi - lo).clamp_min(1e-6) * 255.0).round().to(torch.uint8)
    frames = x.permute(0, 1, 3, 4, 2).numpy()  # (B, T, H, W, C)
    out = np.stack([estimate_flow(clip, method) for clip in frames])
    return torch.from_numpy(out).to(pixel_values.device)
