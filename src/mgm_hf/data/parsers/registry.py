"""Registry of annotation parsers: a dataset name to a callable
``parser(root: Path, split: str, *, on_missing="error", **options) -> ParsedAnnotations``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .base import ParsedAnnotations

__all__ = ["DatasetParser", "available_datasets", "get_dataset_parser", "register_dataset_parser"]


class DatasetParser(Protocol):
    def __call__(self, root, split: str, *, on_missing: str = "error", **options) -> ParsedAnnotations: ...


_PARSERS: dict[str, DatasetParser] = {}


def register_dataset_parser(
    name: str, parser: DatasetParser | None = None, *, overwrite: bool = False
) -> Callable[[DatasetParser], DatasetParser] | DatasetParser:
    """Registers ``parser`` under ``name`` (also usable as ``@register_dataset_parser("mine")``).

    The parser takes ``(root, split, *, on_missing, **options)`` and returns
    :class:`~mgm_hf.data.parsers.base.ParsedAnnotations`; :class:`RecordCollector` and
    :class:`VideoResolver` do the file checks. A taken name raises unless ``overwrite=True``.
    """

    def decorator(fn: DatasetParser) -> DatasetParser:
        if not callable(fn):
            raise TypeError(f"A dataset parser must be callable, got {fn!r}.")
        if name in _PARSERS and not overwrite:
            raise ValueError(f"A dataset parser named {name!r} is already registered; pass overwrite=True.")
        _PARSERS[name] = fn
        return fn

    return decorator(parser) if parser is not None else decorator


def available_datasets() -> list[str]:
    """Sorted names of the registered dataset parsers."""
    return sorted(_PARSERS)


def get_dataset_parser(name: str) -> DatasetParser:
    try:
        return _PARSERS[name]
    except KeyError:
        raise ValueError(f"Unknown dataset {name!r}; available: {available_datasets()}.") from None
