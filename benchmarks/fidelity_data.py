"""Fidelity dataset v3: scenes (``fidelity_scenes``) through a real H.264 encode and decode.

Each scene's lead-in frame and clip (T + 1 frames) are encoded with libx264 (PyAV) and decoded with
``mgm_hf.video.read_clip(motion="motion_vectors")`` from frame 1, so the model sees decoded pixels
and codec-guided strategies get motion vectors of a real decode (frame 0 included: it is a P- or
B-frame after the lead-in I-frame). The exact per-pixel motion of the rendered frames is kept next to
them, and the actor's pixels per token.

A split is a :class:`ClipSet` of numpy arrays, cached as ``.npz`` under a work folder (the key holds
the generator version, the scene spec, the split's scene seeds and the codec settings), so a rerun
re-uses it. Scene seeds are disjoint per split: pretraining pool, probe training set (whose first
``k`` clips per class are the fine-tuning set) and validation.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from fidelity_scenes import ACTOR, NUM_CLASSES, SceneSpec, render_scene
from mgm_hf.mask_metrics import patchify
from mgm_hf.masking import MaskGeometry
from mgm_hf.video import read_clip, write_video

logger = logging.getLogger(__name__)
GENERATOR_VERSION = 3  # bump when rendering or encoding changes
CODEC = {"codec": "libx264", "fps": 25}
SPLIT_SEED_BASE = {"pretrain": 1_000_000_000, "probe_train": 1_100_000_000, "validation": 1_200_000_000}


@dataclass
class ClipSet:
    """N clips of T frames, H = W pixels.

    Attributes:
        frames: uint8 (N, T, H, W, 3) decoded H.264 frames.
        vectors: float32 (N, T, H / 8, W / 8, 2) decoded motion vectors (``read_clip``).
        motion: int8 (N, T, H, W, 2) exact motion of the rendered frames.
        actor_pixels: float32 (N, L) pixels of the actor in each token (tiny geometry).
        labels: int64 (N,).
        scene_seeds: int64 (N,).
    """

    frames: np.ndarray
    vectors: np.ndarray
    motion: np.ndarray
    actor_pixels: np.ndarray
    labels: np.ndarray
    scene_seeds: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray) -> ClipSet:
        return ClipSet(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def pixel_values(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (B, T, H, W, 3) -> float (B, T, 3, H, W) normalised with ImageNet mean and std."""
    from mgm_hf.data.transforms import IMAGENET_MEAN, IMAGENET_STD  # here: generation workers never need it

    x = torch.as_tensor(frames).permute(0, 1, 4, 2, 3).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 1, 3, 1, 1)
    return (x - mean).div_(std)


def motion_tensor(motion: np.ndarray) -> torch.Tensor:
    """int8 or float (B, T, h, w, 2) -> float32 tensor."""
    return torch.as_tensor(np.asarray(motion, np.float32))


def encode_decode(frames: np.ndarray, folder: Path, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Encodes lead-in + clip (T + 1, H, W, 3) with H.264 and decodes frames 1..T with motion vectors.

    Returns:
        decoded uint8 (T, H, W, 3) and motion vectors float32 (T, H / 8, W / 8, 2).
    """
    path = write_video(folder / "clip.mp4", frames, **CODEC)
    clip = read_clip(path, num_frames=num_frames, frame_stride=1, start_frame=1, motion="motion_vectors")
    if clip.motion_source != "motion_vectors" or clip.motion is None:
        raise RuntimeError(f"expected H.264 motion vectors, got {clip.motion_source!r}")
    if not np.array_equal(clip.frame_indices, np.arange(1, num_frames + 1)):
        raise RuntimeError(f"decoded frames {clip.frame_indices.tolist()}, expected 1..{num_frames}")
    return clip.frames, clip.motion.astype(np.float32)


def actor_tokens(layers: np.ndarray, geometry: MaskGeometry) -> np.ndarray:
    """int (T, H, W) layer ids -> float32 (L,) actor pixels per token."""
    actor = torch.from_numpy((layers == ACTOR).astype(np.float32))[None, :, None]  # (1, T, 1, H, W)
    return patchify(actor, geometry).sum(dim=(-2, -1))[0].numpy()


def generate(scene_seeds: np.ndarray, labels: np.ndarray, spec: SceneSpec, geometry: MaskGeometry,
             workers: int = 1, chunk: int = 200) -> ClipSet:
    """Renders, encodes and decodes every scene (one PyAV round trip each, 15-50 ms), in ``workers``
    spawned processes (chunks of ``chunk`` scenes) when ``workers > 1``. The result does not depend
    on ``workers``."""
    if workers > 1 and len(scene_seeds) > chunk:
        parts = [(scene_seeds[i : i + chunk], labels[i : i + chunk]) for i in range(0, len(scene_seeds), chunk)]
        context = multiprocessing.get_context("spawn")  # no fork of a process that runs torch threads
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            done = list(pool.map(generate, *zip(*parts), [spec] * len(parts), [geometry] * len(parts)))
        return ClipSet(**{f.name: np.concatenate([getattr(d, f.name) for d in done]) for f in fields(ClipSet)})
    n, t, size = len(scene_seeds), spec.num_frames, spec.size
    out = ClipSet(
        frames=np.empty((n, t, size, size, 3), np.uint8),
        vectors=np.empty((n, t, size // 8, size // 8, 2), np.float32),
        motion=np.empty((n, t, size, size, 2), np.int8),
        actor_pixels=np.empty((n, geometry.seq_length), np.float32),
        labels=np.asarray(labels, np.int64),
        scene_seeds=np.asarray(scene_seeds, np.int64),
    )
    with tempfile.TemporaryDirectory(prefix="fidelity_v3_") as tmp:
        for i, (seed, label) in enumerate(zip(scene_seeds, labels)):
            scene = render_scene(int(seed), int(label), spec)
            out.frames[i], vectors = encode_decode(scene.frames, Path(tmp), t)
            if vectors.shape != out.vectors.shape[1:]:
                raise RuntimeError(f"motion vectors {vectors.shape}, expected {out.vectors.shape[1:]}")
            out.vectors[i] = vectors
            out.motion[i] = scene.motion[1:]
            out.actor_pixels[i] = actor_tokens(scene.layers[1:], geometry)
    return out


def split_seeds(split: str, count: int, balanced: bool) -> tuple[np.ndarray, np.ndarray]:
    """Scene seeds and labels of a split: class ``i % 8`` for clip i (balanced, class-interleaved);
    the pretraining pool draws labels uniformly (they are never used in pretraining)."""
    seeds = SPLIT_SEED_BASE[split] + np.arange(count, dtype=np.int64)
    if balanced:
        labels = np.arange(count, dtype=np.int64) % NUM_CLASSES
    else:
        labels = np.random.default_rng(SPLIT_SEED_BASE[split]).integers(0, NUM_CLASSES, size=count)
    return seeds, labels


def load_split(split: str, count: int, spec: SceneSpec, geometry: MaskGeometry, cache_dir: Path | None,
               workers: int = 1) -> ClipSet:
    """The split's clips, from ``cache_dir`` when a matching cache exists, else generated (and cached)."""
    seeds, labels = split_seeds(split, count, balanced=split != "pretrain")
    key = hashlib.sha1(repr((GENERATOR_VERSION, asdict(spec), CODEC, split, count, geometry)).encode()).hexdigest()[:12]
    path = None if cache_dir is None else Path(cache_dir) / f"v3_{split}_{count}_{key}.npz"
    if path is not None and path.exists():
        with np.load(path) as data:
            clips = ClipSet(**{f.name: data[f.name] for f in fields(ClipSet)})
        logger.info("loaded %s (%d clips) from %s", split, len(clips), path)
        return clips
    start = time.perf_counter()
    clips = generate(seeds, labels, spec, geometry, workers=workers)
    logger.info("generated %s: %d clips in %.1f s", split, count, time.perf_counter() - start)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, **{f.name: getattr(clips, f.name) for f in fields(ClipSet)})
        partial.replace(path)
    return clips


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` clips of every class (raises if a class has fewer)."""
    index = []
    for c in range(NUM_CLASSES):
        members = np.flatnonzero(labels == c)[:per_class]
        if len(members) < per_class:
            raise ValueError(f"class {c} has {len(members)} clips, {per_class} asked for.")
        index.extend(members.tolist())
    return np.sort(np.asarray(index))


__all__ = ["ClipSet", "encode_decode", "first_per_class", "generate", "load_split", "motion_tensor",
           "pixel_values", "split_seeds"]
