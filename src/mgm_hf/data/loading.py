"""``load_video_dataset``: annotations → ``datasets.Dataset`` (``path``, ``label``), decoded on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets

from .parsers import get_dataset_parser

__all__ = ["load_video_dataset"]


def load_video_dataset(
    name: str,
    root: str | Path,
    split: str = "train",
    *,
    transform: Callable[[dict[str, list[Any]]], dict[str, list[Any]]] | None = None,
    on_missing: str = "error",
    **options: Any,
) -> datasets.Dataset:
    """Loads a video dataset's annotations into a ``datasets.Dataset``.

    Args:
        name: a registered parser (:func:`~mgm_hf.data.available_datasets`): ``ssv2``, ``k400``,
            ``ucf101``, ``hmdb51``, ``diving48``, ``videofolder`` or one you registered with
            :func:`~mgm_hf.data.register_dataset_parser`.
        root: the dataset folder (each parser documents the layout it expects).
        split: ``train``, ``validation``/``val``, ``test`` (what the dataset has). For
            ``videofolder``, a subfolder of ``root`` if it exists, else ``root`` itself.
        transform: applied with ``Dataset.set_transform`` (usually a
            :class:`~mgm_hf.data.VideoTransform`, which decodes with PyAV and augments, giving
            ``pixel_values``, ``motion``, ``labels``); None keeps the raw ``path``/``label`` rows.
        on_missing: an annotation line whose video is missing raises an
            :class:`~mgm_hf.data.AnnotationError` naming ``file:line`` (``"error"``), or is logged and
            skipped (``"skip"``).
        **options: parser options, e.g. ``fold=2`` (UCF101, HMDB51), ``annotation_dir=``,
            ``video_dir=``.

    Returns:
        ``datasets.Dataset`` with columns ``path`` (string) and ``label``
        (``ClassLabel`` with the class names; -1 where a split has no labels).
    """
    parser = get_dataset_parser(name)
    parsed = parser(Path(root), split, on_missing=on_missing, **options)
    dataset = parsed.to_dataset(
        split=str(split) if split else None,
        info={"mgm_hf_dataset": name, "root": str(root), "skipped_annotation_lines": len(parsed.skipped)},
    )
    if transform is not None:
        dataset.set_transform(transform)
    return dataset
