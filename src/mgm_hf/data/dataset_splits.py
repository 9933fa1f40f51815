"""One split of a named video dataset, the way the scripts and ``mgm-hf visualize`` get it: resolve the
name (nothing given means the built-in motion dataset, generated once, see
:mod:`mgm_hf.data.builtin_motion`, read as a ``videofolder``), list its files, load it with a
``sample_index`` column, read its class names. Every function reads through
:func:`~mgm_hf.data.load_video_dataset`."""

from __future__ import annotations

from dataclasses import dataclass

import datasets

from .builtin_motion import BuiltinMotionSpec, builtin_motion_dataset
from .loading import load_video_dataset
from .video_transform import VideoTransform

__all__ = ["VideoItem", "class_names", "list_videos", "resolve_dataset", "video_dataset"]


def resolve_dataset(name: str | None, root: str | None, spec: BuiltinMotionSpec) -> tuple[str, str]:
    """``(name, root)``; the built-in dataset (made from ``spec``) when ``name`` is None or
    ``"builtin"``."""
    if name in (None, "builtin"):
        if root is not None:
            raise ValueError("--dataset_root needs --dataset_name (e.g. videofolder).")
        return "videofolder", str(builtin_motion_dataset(spec))
    if root is None:
        raise ValueError(f"--dataset_name {name} needs --dataset_root.")
    return name, root


@dataclass(frozen=True)
class VideoItem:
    path: str
    label: int


def list_videos(name: str, root: str, split: str) -> tuple[list[VideoItem], list[str]]:
    """The files and integer labels of one split, plus the class names (index = label)."""
    ds = _load_split(name, root, split)
    return [VideoItem(str(p), int(lbl)) for p, lbl in zip(ds["path"], ds["label"])], class_names(ds)


def _load_split(name: str, root: str, split: str) -> datasets.Dataset:
    ds = load_video_dataset(name, root, split)
    if len(ds) == 0:
        raise FileNotFoundError(f"Dataset {name!r} at {root} has no videos in split {split!r}.")
    return ds


def video_dataset(name: str, root: str, split: str, transform: VideoTransform | None) -> datasets.Dataset:
    """One split decoded on the fly by ``transform`` (None: raw ``path``/``label`` rows until
    ``set_transform``), with a ``sample_index`` column (the row number), which the transform and
    :class:`~mgm_hf.data.VideoCollator` carry into the batch."""
    ds = _load_split(name, root, split)
    ds = ds.add_column("sample_index", list(range(len(ds))))
    if transform is not None:
        ds.set_transform(transform)
    return ds


def class_names(ds: datasets.Dataset) -> list[str]:
    """The class names of a :func:`video_dataset` (index = label)."""
    feature = ds.features.get("label")
    if feature is not None and hasattr(feature, "names"):
        return list(feature.names)
    return [str(i) for i in range(max(ds.with_format(None)["label"]) + 1)]
