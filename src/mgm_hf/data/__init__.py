"""Datasets, joint transforms, collation and the ``prepare`` transcoder."""

from __future__ import annotations

from .loading import load_video_dataset
from .parsers import (
    AnnotationError,
    AnnotationIssue,
    ParsedAnnotations,
    available_datasets,
    get_dataset_parser,
    register_dataset_parser,
)

__all__ = [
    "AnnotationError",
    "AnnotationIssue",
    "ParsedAnnotations",
    "available_datasets",
    "get_dataset_parser",
    "load_video_dataset",
    "register_dataset_parser",
]
