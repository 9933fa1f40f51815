"""The built-in default dataset: small real H.264 clips whose label *is* the motion.

A textured square moves over a background in one of a few directions (or stays still), in the
spirit of Something-Something, where appearance says nothing about the class. ``texture="smooth"``
(the default, v2) renders a textured square over a linear colour ramp with faint fine detail
(:func:`mgm_hf.video.synthetic.smooth_moving_square_frames`): after norm_pix_loss's per-patch
normalisation a masked background patch is largely predictable from its visible neighbours, and the
``tiny`` model's loss leaves the blind value within ~200 steps. ``texture="noise"`` (v1's data)
renders multi-scale noise for both (:func:`mgm_hf.video.moving_square_frames`); its normalised
patches are unpredictable from their neighbours and the ``tiny`` model stayed at the blind loss
there (1000 steps tried). Clips are encoded with :func:`mgm_hf.video.write_video` (H.264, no
B-frames, one reference frame, so its motion vectors are exact per-frame motion), laid out as a
``videofolder``::

    <root>/train/<class>/<class>_<i>.mp4
    <root>/validation/<class>/<class>_<i>.mp4
    <root>/manifest.json

Everything is deterministic from ``seed``. The dataset is generated once per spec into
``$MGM_HF_CACHE`` (default ``~/.cache/mgm_hf``) as ``builtin_motion_v2-<hash>``: written to a
temporary folder and renamed when complete, so concurrent processes (e.g. every rank of a
distributed run) never see a half-written dataset; the loser of a race just drops its copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

VERSION = "builtin_motion_v2"
TEXTURES = ("smooth", "noise")
# Class name -> unit direction (dx, dy) in image coordinates (y points down).
DIRECTIONS: dict[str, tuple[float, float]] = {
    "moving_down": (0.0, 1.0),
    "moving_left": (-1.0, 0.0),
    "moving_right": (1.0, 0.0),
    "moving_up": (0.0, -1.0),
    "moving_up_right": (0.7071, -0.7071),
    "static": (0.0, 0.0),
}
# H.264 without B-frames and with one reference frame: motion vectors are the per-frame motion. One
# encoder thread: x264's output depends on its thread count (by default 1.5 × the cores), and with the
# default we also saw the same frames encode to different bytes now and then on a loaded machine.
ENCODER_OPTIONS: dict[str, str] = {"bf": "0", "refs": "1", "g": "64", "threads": "1"}


@dataclass(frozen=True)
class BuiltinMotionSpec:
    """What to generate. The defaults (6 classes × (24 + 6) clips of 32 frames at 64×64) build in
    well under a minute and pretrain the ``tiny`` model in a few minutes on 2 CPU cores."""

    train_per_class: int = 24
    validation_per_class: int = 6
    num_frames: int = 32
    size: int = 64
    square_size: int = 20
    texture: str = "smooth"
    classes: tuple[str, ...] = field(default_factory=lambda: tuple(DIRECTIONS))
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.classes) - set(DIRECTIONS))
        if unknown:
            raise ValueError(f"Unknown builtin classes {unknown}; available: {sorted(DIRECTIONS)}.")
        if self.texture not in TEXTURES:
            raise ValueError(f"texture must be one of {TEXTURES}, got {self.texture!r}.")
        if self.size % 2 or self.size < 16:
            raise ValueError(f"size must be even and >= 16 (H.264 yuv420p), got {self.size}.")
        if not 4 <= self.square_size <= self.size // 2:
            raise ValueError(f"square_size must lie in [4, size/2], got {self.square_size}.")
        if self.num_frames < 2 or self.train_per_class < 1 or self.validation_per_class < 0:
            raise ValueError(f"Invalid builtin dataset spec {self}.")

    def fingerprint(self) -> str:
        blob = json.dumps({"version": VERSION, **asdict(self)}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def default_cache_dir() -> Path:
    return Path(os.environ.get("MGM_HF_CACHE", Path.home() / ".cache" / "mgm_hf"))


def builtin_motion_dataset(spec: BuiltinMotionSpec | None = None, cache_dir: str | Path | None = None) -> Path:
    """Returns the root of the built-in dataset, generating it first if it is not cached."""
    spec = spec or BuiltinMotionSpec()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    root = cache_dir / f"{VERSION}-{spec.fingerprint()}"
    if (root / "manifest.json").is_file():
        return root
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{VERSION}-", dir=cache_dir))
    try:
        _generate(spec, tmp)
        try:
            os.rename(tmp, root)  # atomic; fails if another process finished first
        except OSError:
            if not (root / "manifest.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def clip_parameters(spec: BuiltinMotionSpec, label: str, rng: np.random.Generator) -> dict:
    """Velocity, start and texture seed of one clip: the square stays fully inside the frame."""
    room = spec.size - spec.square_size
    steps = spec.num_frames - 1
    direction = np.asarray(DIRECTIONS[label])
    speed = rng.uniform(0.5, 1.0) * room / steps / max(float(np.abs(direction).max()), 1e-6)
    velocity = direction * speed if np.any(direction) else np.zeros(2)
    travel = velocity * steps
    start = [rng.uniform(max(0.0, -d), room - max(0.0, d)) for d in travel]
    return {
        "velocity": (float(velocity[0]), float(velocity[1])),
        "start": (float(start[0]), float(start[1])),
        "seed": int(rng.integers(2**31 - 1)),
    }


def _generate(spec: BuiltinMotionSpec, root: Path) -> None:
    from mgm_hf.video import moving_square_frames, write_video
    from mgm_hf.video.synthetic import smooth_moving_square_frames

    rng = np.random.default_rng(spec.seed)
    files: dict[str, list[dict]] = {"train": [], "validation": []}
    for split, count in (("train", spec.train_per_class), ("validation", spec.validation_per_class)):
        for label in spec.classes:
            for i in range(count):
                params = clip_parameters(spec, label, rng)
                geometry = {"num_frames": spec.num_frames, "size": (spec.size, spec.size),
                            "square_size": spec.square_size}
                if spec.texture == "smooth":
                    frames, _ = smooth_moving_square_frames(**geometry, **params)
                else:
                    frames, _ = moving_square_frames(**geometry, background="noise", **params)
                rel = Path(split) / label / f"{label}_{i:03d}.mp4"
                write_video(root / rel, frames, codec="libx264", fps=25, options=ENCODER_OPTIONS)
                files[split].append({"path": str(rel), "label": label, **params})
    manifest = {"version": VERSION, "spec": asdict(spec), "classes": sorted(spec.classes), "files": files}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))


__all__ = ["DIRECTIONS", "TEXTURES", "VERSION", "BuiltinMotionSpec", "builtin_motion_dataset",
           "clip_parameters", "default_cache_dir"]
