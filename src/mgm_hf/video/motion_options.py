"""``MotionOptions``: how a clip's motion is obtained, validated once and carried from
:class:`~mgm_hf.data.VideoTransform` through :func:`~mgm_hf.video.read_clip` /
:func:`~mgm_hf.video.read_clips` to the decoder."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["MOTION_MODES", "MotionOptions"]

MOTION_MODES = ("auto", "motion_vectors", "optical_flow", "none")
_FALLBACKS = ("optical_flow", "none", "error")
_REFERENCES = ("search", "adjacent")
_THREAD_TYPES = ("SLICE", "NONE", "FRAME", "AUTO")


@dataclass(frozen=True)
class MotionOptions:
    """Motion settings of a decode (field names are :func:`~mgm_hf.video.read_clips`' keywords).

    Attributes:
        motion: ``"auto"`` (motion vectors when the codec has them, else ``fallback``),
            ``"motion_vectors"``, ``"optical_flow"`` or ``"none"``.
        fallback: what ``auto`` does without vectors (another codec, or an all-intra stream):
            ``"optical_flow"``, ``"none"`` or ``"error"``.
        flow_method: flow backend name (``"dis"``, ``"dis:medium"``, ``"farneback"``, ...) or object.
        mv_grid: cell size (pixels) of motion-vector fields.
        max_ref_distance: farthest reference frame tried when resolving vector distances.
        mv_reference: ``"search"`` finds each vector's reference distance from the decoded pixels
            (skipped on streams whose SPS allows one reference frame and no reordering, where every
            vector spans one frame); ``"adjacent"`` trusts every vector to span one frame (exact only
            for such streams, e.g. ``mgm-hf prepare --exact_motion``).
        thread_type: PyAV decoder threading; forced to SLICE when exporting vectors (frame threading
            corrupts them).
    """

    motion: str = "auto"
    fallback: str = "optical_flow"
    flow_method: Any = "dis"
    mv_grid: int = 8
    max_ref_distance: int = 8
    mv_reference: str = "search"
    thread_type: str = "SLICE"

    def __post_init__(self) -> None:
        _check(self.motion in MOTION_MODES, f"motion must be one of {MOTION_MODES}, got {self.motion!r}.")
        _check(self.fallback in _FALLBACKS, f"fallback must be one of {_FALLBACKS}, got {self.fallback!r}.")
        _check(self.mv_reference in _REFERENCES,
               f"mv_reference must be one of {_REFERENCES}, got {self.mv_reference!r}.")
        _check(self.thread_type in _THREAD_TYPES,
               f"thread_type must be one of {_THREAD_TYPES}, got {self.thread_type!r}.")
        for name in ("mv_grid", "max_ref_distance"):
            value = getattr(self, name)
            _check(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                   f"{name} must be an int >= 1, got {value!r}.")
        _check(isinstance(self.flow_method, str) or callable(self.flow_method),
               f"flow_method must be a backend name or a callable backend, got {self.flow_method!r}.")

    @classmethod
    def from_kwargs(cls, options: MotionOptions | None = None, **overrides: Any) -> MotionOptions:
        """``options`` (default: the defaults) with the non-None ``overrides`` applied; unknown names
        raise TypeError."""
        base = options if options is not None else cls()
        if not isinstance(base, MotionOptions):
            raise TypeError(f"motion_options must be a MotionOptions, got {type(base).__name__}.")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"unknown motion option(s) {unknown}; known: {sorted(names)}.")
        changes = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(base, **changes) if changes else base

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
