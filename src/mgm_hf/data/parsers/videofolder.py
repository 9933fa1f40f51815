"""A folder of class subfolders: ``root/<class>/*.<any video extension>`` (``.webm`` included), or
``root/<split>/<class>/...``. Unlike ``datasets``' ``videofolder``, a single class folder keeps its
label, and classes are the union over all split folders so ids agree across splits.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .base import VIDEO_EXTENSIONS, ParsedAnnotations
from .registry import register_dataset_parser

logger = logging.getLogger(__name__)

KNOWN_SPLITS = ("train", "training", "val", "valid", "validation", "test", "testing", "eval")


def _class_dirs(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def _videos_in(folder: Path) -> list[Path]:
    """Every video file below ``folder`` (recursively), sorted, hidden files skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [
            Path(dirpath) / f for f in filenames
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in VIDEO_EXTENSIONS
        ]
    return sorted(found)


@register_dataset_parser("videofolder")
def parse_videofolder(root: str | Path, split: str | None = "train", *, on_missing: str = "error"):
    """``split`` is a subfolder of ``root`` when it exists; otherwise ``root`` itself is the whole set
    (an error if ``root`` has other split folders but not this one). ``split=None`` or ``"all"`` always
    takes ``root`` whole. Videos nested deeper inside a class folder belong to that class."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"videofolder root {root} is not a folder.")
    present = [s for s in KNOWN_SPLITS if (root / s).is_dir()]
    if split not in (None, "all") and (root / split).is_dir():
        folder, siblings = root / split, [root / s for s in dict.fromkeys([*present, split])]
    elif split in (None, "all") or not present:
        if split not in (None, "all"):
            logger.info("videofolder: no %r subfolder in %s; using the whole folder as the split.", split, root)
        folder, siblings = root, [root]
    else:
        raise FileNotFoundError(f"videofolder: no split folder {split!r} in {root}; found {present}.")
    class_names = sorted({name for sibling in siblings for name in _class_dirs(sibling)})
    if not class_names:
        raise FileNotFoundError(f"videofolder: {folder} has no class subfolders (<class>/<video>).")
    loose = [f for f in os.listdir(folder) if os.path.splitext(f)[1].lower() in VIDEO_EXTENSIONS]
    if loose:
        logger.warning("videofolder: ignoring %d video(s) directly in %s (not in a class folder).", len(loose), folder)
    paths, labels = [], []
    for label, name in enumerate(class_names):
        if (folder / name).is_dir():
            for video in _videos_in(folder / name):
                paths.append(str(video))
                labels.append(label)
    if not paths:
        raise FileNotFoundError(f"videofolder: no videos in {folder} (extensions: {sorted(VIDEO_EXTENSIONS)}).")
    return ParsedAnnotations(paths, labels, class_names)
