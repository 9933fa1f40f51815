"""argparse ``type=`` converters shared by ``mgm-hf`` and the example scripts."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["json_dict"]


def json_dict(text: str) -> dict[str, Any]:
    """A JSON object option such as ``'{"top_k": 2}'`` as a dict; anything else is an argparse error."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object such as '{{\"top_k\": 2}}', got {type(value).__name__}"
        )
    return value
