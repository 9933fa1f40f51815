"""UCF101: ``ucfTrainTestlist/classInd.txt`` (``1 ApplyEyeMakeup``), ``trainlist0{fold}.txt``
(``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``) and ``testlist0{fold}.txt`` (path only; the class is
the folder). Videos under ``root/UCF-101/`` (or ``root``), any extension.

Folder names are matched to classes case-insensitively: the official lists spell one class
``HandStandPushups`` in ``classInd.txt`` and ``HandstandPushups`` in the paths.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    RecordCollector,
    VideoResolver,
    bad_line,
    find_dir,
    find_file,
    iter_text_lines,
    normalise_split,
)
from .registry import register_dataset_parser

SPLITS = {"train": "train", "test": "test", "validation": "test", "val": "test"}


def read_class_index(path: Path) -> list[str]:
    """``classInd.txt`` → class names ordered by their 1-based ids."""
    entries: dict[int, str] = {}
    for line, text in iter_text_lines(path):
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise bad_line(path, line, f"expected '<id> <ClassName>', got {text!r}")
        entries[int(parts[0])] = parts[1]
    if sorted(entries) != list(range(1, len(entries) + 1)):
        raise bad_line(path, 1, "class ids are not 1..N")
    return [entries[i] for i in range(1, len(entries) + 1)]


@register_dataset_parser("ucf101")
def parse_ucf101(
    root: str | Path,
    split: str = "train",
    *,
    on_missing: str = "error",
    fold: int = 1,
    annotation_dir: str | Path | None = None,
    video_dir: str | Path | None = None,
):
    """Parses UCF101 split ``fold`` (1, 2 or 3)."""
    if fold not in (1, 2, 3):
        raise ValueError(f"UCF101 fold must be 1, 2 or 3, got {fold}.")
    root = Path(root)
    split = normalise_split(split, SPLITS, "ucf101")
    ann = Path(annotation_dir) if annotation_dir else find_dir([root / "ucfTrainTestlist", root], "ucfTrainTestlist")
    class_names = read_class_index(find_file([ann / "classInd.txt"], "UCF101 classInd.txt"))
    by_lower = {name.lower(): i for i, name in enumerate(class_names)}
    list_file = find_file([ann / f"{split}list0{fold}.txt"], f"UCF101 {split}list0{fold}.txt")
    videos = VideoResolver(Path(video_dir) if video_dir else find_dir([root / "UCF-101", root], "UCF101 videos"))
    collector = RecordCollector(on_missing)  # type: ignore[arg-type]
    for line, text in iter_text_lines(list_file):
        parts = text.split()
        relative = parts[0]
        folder = Path(relative).parent.name
        if len(parts) == 2:
            if not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(class_names):
                raise bad_line(list_file, line, f"bad class id {parts[1]!r}")
            label = int(parts[1]) - 1
        elif len(parts) == 1 and folder.lower() in by_lower:
            label = by_lower[folder.lower()]
        else:
            raise bad_line(list_file, line, f"expected '<Class>/<video> [id]' with a known class, got {text!r}")
        collector.add(videos.resolve(relative), label, list_file, line, relative)
    return collector.finish(class_names)
