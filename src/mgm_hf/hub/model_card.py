"""Model cards rendered from templates with a run's real numbers.

The generic run template ships with the package (``mgm_hf/hub/templates/model_card.md``, read
with :mod:`importlib.resources`, so pushing works from an installed mgm_hf); the release cards live in
the checkout's ``model_cards/``.

A template is a normal card (YAML metadata between ``---`` lines, then Markdown) whose body may use
``${name}`` placeholders (:class:`string.Template`). Rendering fills every placeholder (a missing
value raises, so no card goes out with a hole in it), merges run-specific metadata (tags, datasets)
into the YAML, and validates the result with ``huggingface_hub.ModelCard``.
"""

from __future__ import annotations

import json
import string
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from huggingface_hub import ModelCard

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

MODEL_CARDS_DIR = Path(__file__).resolve().parents[3] / "model_cards"  # exists in a checkout only
DEFAULT_TEMPLATE = "model_card.md"


def package_templates() -> Traversable:
    """The templates shipped as package data (``mgm_hf/hub/templates``)."""
    return resources.files("mgm_hf.hub").joinpath("templates")


def find_template(name: str | Path | None) -> Path | Traversable:
    """``None`` -> the generic run template (package data); otherwise a path, a packaged template's
    name, or a release name (``mgm-vitb-ssv2``) from the checkout's ``model_cards/``."""
    name = str(name or DEFAULT_TEMPLATE)
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


def split_card(text: str) -> tuple[dict[str, Any], str]:
    """``(metadata, body)`` of a card with YAML front matter."""
    if not text.startswith("---\n"):
        raise ValueError("A model card must start with YAML metadata between '---' lines.")
    header, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(header) or {}, body


def render_card(
    template: str | Path | None, values: dict[str, Any], extra_metadata: dict[str, Any] | None = None
) -> str:
    """Fills the placeholders of ``template`` (see :func:`find_template`) from ``values`` and merges
    ``extra_metadata`` (lists are extended, scalars set only where the template has none)."""
    metadata, body = split_card(find_template(template).read_text(encoding="utf-8"))
    for key, value in (extra_metadata or {}).items():
        if isinstance(value, list):
            metadata[key] = list(dict.fromkeys([*metadata.get(key, []), *value]))
        else:
            metadata.setdefault(key, value)
    body = string.Template(body).substitute({k: _fmt(v) for k, v in values.items()})
    text = "---\n" + yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True) + "---\n" + body
    ModelCard(text)  # validates the metadata block
    return text


def run_values(args: dict[str, Any], results: dict[str, Any], config: Any) -> dict[str, Any]:
    """Placeholder values for a pretraining run: command line, masking, sizes, measured numbers."""
    masking = dict(getattr(config, "masking", {}) or {})
    return {
        "masking_name": masking.get("name", "?"),
        "masking_json": json.dumps(masking, sort_keys=True),
        "mask_ratio": masking.get("mask_ratio", "?"),
        "image_size": getattr(config, "image_size", "?"),
        "num_frames": getattr(config, "num_frames", "?"),
        "patch_size": getattr(config, "patch_size", "?"),
        "tubelet_size": getattr(config, "tubelet_size", "?"),
        "hidden_size": getattr(config, "hidden_size", "?"),
        "num_hidden_layers": getattr(config, "num_hidden_layers", "?"),
        "dataset": args.get("dataset_name") or "built-in motion dataset (mgm_hf.data.builtin_motion)",
        "results_table": "\n".join(f"| {k} | {_fmt(v)} |" for k, v in sorted(results.items())) or "| - | - |",
        "arguments_json": json.dumps({k: v for k, v in sorted(args.items()) if _jsonable(v)}, indent=1),
        "command": args.get("_command", "accelerate launch examples/pretrain.py"),
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


__all__ = ["DEFAULT_TEMPLATE", "MODEL_CARDS_DIR", "find_template", "package_templates", "render_card", "run_values",
           "split_card"]
