"""``--model_name_or_path``: a local folder or a Hub model id, and errors that say which.

``from_pretrained("outputs/pretrain")`` on a folder that does not exist asks the Hub for a model of
that name and fails with a connection error, which hides the real mistake (a wrong or not yet
written folder). :func:`check_model_source` stops at once with "no such folder" when the value can
only be a local path; :func:`explain_missing_model` rewords the loading error of a value that could
be either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A Hub model id: "name" or "owner/name" (letters, digits, '-', '_', '.').
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def is_local_path(value: str) -> bool:
    """True when ``value`` can only mean a local path: it exists, is absolute or starts with ``.`` or
    ``~``, has more than one ``/``, is no valid Hub id, or its parent folder exists here
    (``outputs/pretrain`` next to an ``outputs/`` folder)."""
    path = Path(value).expanduser()
    return (
        path.exists()
        or value.startswith((".", "/", "~"))
        or value.count("/") > 1
        or not _HUB_ID.match(value)
        or (len(path.parts) > 1 and path.parent.is_dir())
    )


def check_model_source(value: str, option: str = "--model_name_or_path") -> str:
    """Returns ``value`` if it is an existing folder or may be a Hub id; raises FileNotFoundError
    ("no such folder") for a local path that does not exist and NotADirectoryError for a file."""
    path = Path(value).expanduser()
    if path.is_file():
        raise NotADirectoryError(f"{option} {value} is a file; give the folder that holds config.json and the "
                                 "weights (what save_pretrained wrote).")
    if not path.exists() and is_local_path(value):
        raise FileNotFoundError(f"{option} {value}: no such folder ({path.resolve()}).")
    return value


@contextmanager
def explain_missing_model(value: str, option: str = "--model_name_or_path") -> Iterator[None]:
    """Wraps a ``from_pretrained(value)``: :func:`check_model_source` first; then, if loading fails
    with an OSError while no such local folder exists, the error says both that there is no such
    folder and what the Hub said."""
    check_model_source(value, option)
    try:
        yield
    except OSError as err:
        if Path(value).expanduser().exists():
            raise
        raise FileNotFoundError(
            f"{option} {value}: no such folder ({Path(value).expanduser().resolve()}), and no Hub model of that "
            f"name could be loaded ({str(err).splitlines()[0]})."
        ) from err


__all__ = ["check_model_source", "explain_missing_model", "is_local_path"]
