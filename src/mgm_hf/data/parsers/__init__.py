"""Annotation parsers, one file per dataset, and their registry."""

from __future__ import annotations

from . import diving48, hmdb51, k400, ssv2, ucf101, videofolder  # noqa: F401  (registers them)
from .base import (
    VIDEO_EXTENSIONS,
    AnnotationError,
    AnnotationIssue,
    ParsedAnnotations,
    RecordCollector,
    VideoResolver,
)
from .registry import available_datasets, get_dataset_parser, register_dataset_parser

__all__ = [
    "VIDEO_EXTENSIONS",
    "AnnotationError",
    "AnnotationIssue",
    "ParsedAnnotations",
    "RecordCollector",
    "VideoResolver",
    "available_datasets",
    "get_dataset_parser",
    "register_dataset_parser",
]
