"""HMDB51: ``testTrainMulti_7030_splits/<class>_test_split{fold}.txt``, one line per video
``<name>.avi <tag>`` with tag 1 = train, 2 = test, 0 = unused. Classes are the sorted ``<class>``
names; videos under ``root/hmdb51/<class>/`` (or ``root/<class>/``), any extension.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import RecordCollector, VideoResolver, bad_line, find_dir, iter_text_lines, normalise_split
from .registry import register_dataset_parser

SPLITS = {"train": "1", "test": "2", "validation": "2", "val": "2"}


@register_dataset_parser("hmdb51")
def parse_hmdb51(
    root: str | Path,
    split: str = "train",
    *,
    on_missing: str = "error",
    fold: int = 1,
    annotation_dir: str | Path | None = None,
    video_dir: str | Path | None = None,
):
    """Parses HMDB51 split ``fold`` (1, 2 or 3)."""
    if fold not in (1, 2, 3):
        raise ValueError(f"HMDB51 fold must be 1, 2 or 3, got {fold}.")
    root = Path(root)
    tag = normalise_split(split, SPLITS, "hmdb51")
    ann = Path(annotation_dir) if annotation_dir else find_dir(
        [root / "testTrainMulti_7030_splits", root / "splits", root], "HMDB51 split files"
    )
    pattern = re.compile(rf"^(?P<cls>.+)_test_split{fold}\.txt$")
    split_files = sorted(
        (m.group("cls"), p) for p in ann.iterdir() if (m := pattern.match(p.name)) is not None
    )
    if not split_files:
        raise FileNotFoundError(f"No '<class>_test_split{fold}.txt' files in {ann}.")
    class_names = [cls for cls, _ in split_files]
    videos = VideoResolver(Path(video_dir) if video_dir else find_dir([root / "hmdb51", root], "HMDB51 videos"))
    collector = RecordCollector(on_missing)  # type: ignore[arg-type]
    for label, (cls, split_file) in enumerate(split_files):
        for line, text in iter_text_lines(split_file):
            parts = text.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise bad_line(split_file, line, f"expected '<video> 0|1|2', got {text!r}")
            if parts[1] == tag:
                relative = f"{cls}/{parts[0]}"
                collector.add(videos.resolve(relative), label, split_file, line, relative)
    return collector.finish(class_names)
