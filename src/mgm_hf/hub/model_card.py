"""Model cards from templates, through ``huggingface_hub``'s ``ModelCard`` / ``ModelCardData``.

A template is itself a card: metadata between ``---`` lines (parsed by ``huggingface_hub``; it may be
empty) and a Markdown body with ``${name}`` placeholders (:class:`string.Template`). The generic
templates ship with the package (``mgm_hf/hub/templates/``, read with :mod:`importlib.resources`, so
pushing works from an installed mgm_hf); the release cards live in the checkout's ``model_cards/``.

:func:`render_card` fills every placeholder (a missing value raises, so no card goes out with a hole
in it) and merges the run's :class:`~huggingface_hub.ModelCardData` into the template's: list fields
(``tags``, ``datasets``) are joined, ``eval_results`` (the ``model-index``) appended, and a scalar the
template sets is kept (a release card's ``license`` and name); the run sets the rest.
"""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huggingface_hub import ModelCard, ModelCardData

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

MODEL_CARDS_DIR = Path(__file__).resolve().parents[3] / "model_cards"  # exists in a checkout only
PRETRAINED_TEMPLATE = "pretrained_model.md"
CLASSIFIER_TEMPLATE = "video_classifier.md"
_LIST_FIELDS = ("tags", "datasets", "metrics", "language")


def package_templates() -> Traversable:
    """The templates shipped as package data (``mgm_hf/hub/templates``)."""
    return resources.files("mgm_hf.hub").joinpath("templates")


def find_template(name: str | Path | None, default: str = PRETRAINED_TEMPLATE) -> Path | Traversable:
    """``None`` -> ``default`` (package data); otherwise a path, a packaged template's name, or a
    release name (``mgm-vitb-ssv2``) from the checkout's ``model_cards/``."""
    name = str(name or default)
    path = Path(name)
    if path.is_file():
        return path
    filename = name if name.endswith(".md") else f"{name}.md"
    for candidate in (package_templates().joinpath(filename), MODEL_CARDS_DIR / filename):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"No model card template {name!r} (looked in {package_templates()} and {MODEL_CARDS_DIR})."
    )


def render_card(
    template: str | Path | None,
    values: dict[str, Any],
    metadata: ModelCardData | None = None,
    default: str = PRETRAINED_TEMPLATE,
) -> ModelCard:
    """The card of ``template`` (see :func:`find_template`) with its placeholders filled from
    ``values`` and ``metadata`` merged into its own (module docstring)."""
    card = ModelCard(find_template(template, default).read_text(encoding="utf-8"))
    merge_card_data(card.data, metadata or ModelCardData())
    card.text = string.Template(card.text).substitute({k: format_value(v) for k, v in values.items()})
    return ModelCard(str(card))  # parsed again: what is saved is what a reader gets


def merge_card_data(data: ModelCardData, run: ModelCardData) -> None:
    """Merges ``run`` into the template's ``data`` in place (rules in the module docstring)."""
    for key, value in run.to_dict().items():
        if key in ("model-index", "model_name"):
            continue  # eval_results and their model name, below
        if key in _LIST_FIELDS:
            joined = [*_as_list(data.get(key)), *_as_list(value)]
            data[key] = list(dict.fromkeys(joined)) or None
        elif data.get(key) is None:
            data[key] = value
    if run.eval_results:
        data.eval_results = [*(data.eval_results or []), *run.eval_results]
        data.model_name = data.model_name or run.model_name


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def format_value(value: Any) -> str:
    """How a card writes a number: floats with 6 significant digits."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


__all__ = ["CLASSIFIER_TEMPLATE", "MODEL_CARDS_DIR", "PRETRAINED_TEMPLATE", "find_template", "format_value", "merge_card_data",
           "package_templates", "render_card"]
