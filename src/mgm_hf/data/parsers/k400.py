"""Kinetics-400: ``annotations/<split>.csv`` with header ``label,youtube_id,time_start,time_end,split``
(possibly ``is_cc``); the video is ``<split folder>/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4``
(flat, as the CVDF release, or inside ``<label>/`` subfolders, any extension).

Classes are the sorted labels of ``train.csv`` (the 400 standard ids), whatever the split.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .base import RecordCollector, VideoResolver, bad_line, find_dir, find_file, normalise_split
from .registry import register_dataset_parser

SPLITS = {"train": "train", "val": "val", "validation": "val", "validate": "val", "test": "test"}
REQUIRED = ("youtube_id", "time_start", "time_end")  # and "label", except in the test csv


def k400_filename(youtube_id: str, start: float, end: float) -> str:
    return f"{youtube_id}_{int(float(start)):06d}_{int(float(end)):06d}.mp4"


def _csv_candidates(ann: Path, split: str) -> list[Path]:
    names = {"train": ["train"], "val": ["val", "validate", "validation"], "test": ["test"]}[split]
    return [ann / f"{name}.csv" for name in names]


def _read_rows(path: Path, labelled: bool = True) -> list[tuple[int, dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        required = ("label", *REQUIRED) if labelled else REQUIRED
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise bad_line(path, 1, f"header lacks {missing}; expected label,{','.join(REQUIRED)},split")
        return [(reader.line_num, row) for row in reader]


@register_dataset_parser("k400")
def parse_k400(
    root: str | Path,
    split: str = "train",
    *,
    on_missing: str = "error",
    annotation_dir: str | Path | None = None,
    video_dir: str | Path | None = None,
):
    """Parses Kinetics-400. ``annotation_dir`` defaults to ``root/annotations`` (or ``root``);
    ``video_dir`` to ``root/<split>`` (``val`` also tried as ``validation``/``validate``)."""
    root = Path(root)
    split = normalise_split(split, SPLITS, "k400")
    ann = Path(annotation_dir) if annotation_dir else find_dir([root / "annotations", root], "K400 annotations")
    split_csv = find_file(_csv_candidates(ann, split), f"the K400 {split} csv")
    rows = _read_rows(split_csv, labelled=split != "test")
    train_csv = next((p for p in _csv_candidates(ann, "train") if p.is_file()), None)
    class_rows = rows if train_csv is None or train_csv == split_csv else _read_rows(train_csv)
    class_names = sorted({row["label"] for _, row in class_rows if row.get("label")})
    class_ids = {name: i for i, name in enumerate(class_names)}

    folders = {"train": ["train"], "val": ["val", "validation", "validate"], "test": ["test"]}[split]
    videos = VideoResolver(
        Path(video_dir) if video_dir else find_dir([root / f for f in folders], f"the K400 {split} videos")
    )
    collector = RecordCollector(on_missing)  # type: ignore[arg-type]
    for line, row in rows:
        try:
            name = k400_filename(row["youtube_id"], float(row["time_start"]), float(row["time_end"]))
        except (TypeError, ValueError):
            raise bad_line(split_csv, line, f"bad youtube_id/time_start/time_end in {row!r:.100}") from None
        label_name = row.get("label") or ""
        if label_name and label_name not in class_ids:
            raise bad_line(split_csv, line, f"label {label_name!r} is not a training class")
        label = class_ids[label_name] if label_name else -1
        video = videos.resolve(name) or (videos.resolve(Path(label_name) / name) if label_name else None)
        collector.add(video, label, split_csv, line, name)
    return collector.finish(class_names)
