"""Diving48 (V2 annotations): ``Diving48_V2_train.json`` / ``Diving48_V2_test.json``, a JSON array of
``{"vid_name", "label", "start_frame", "end_frame"}``, and ``Diving48_vocab.json``, a list whose entry
``i`` describes class ``i`` as four parts (take-off, somersaults, twists, flight position), joined with
spaces into the class name. Videos are ``<vid_name>.mp4`` in ``root/rgb/`` (or ``root``).
"""

from __future__ import annotations

import json
from pathlib import Path

from .base import (
    RecordCollector,
    VideoResolver,
    bad_line,
    find_dir,
    find_file,
    iter_json_array,
    normalise_split,
)
from .registry import register_dataset_parser

SPLITS = {"train": "train", "test": "test", "validation": "test", "val": "test"}


@register_dataset_parser("diving48")
def parse_diving48(
    root: str | Path,
    split: str = "train",
    *,
    on_missing: str = "error",
    version: str = "V2",
    annotation_dir: str | Path | None = None,
    video_dir: str | Path | None = None,
):
    """Parses Diving48 (``version="V2"``, the cleaned labels the papers use, or ``""`` for V1)."""
    root = Path(root)
    split = normalise_split(split, SPLITS, "diving48")
    ann = Path(annotation_dir) if annotation_dir else root
    vocab_file = find_file([ann / "Diving48_vocab.json"], "Diving48_vocab.json")
    tag = f"_{version}" if version else ""
    split_file = find_file([ann / f"Diving48{tag}_{split}.json"], f"Diving48{tag}_{split}.json")
    vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
    if not isinstance(vocab, list):
        raise bad_line(vocab_file, 1, "expected a JSON array of class descriptions")
    class_names = [" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in vocab]
    videos = VideoResolver(Path(video_dir) if video_dir else find_dir([root / "rgb", root], "Diving48 videos"))
    collector = RecordCollector(on_missing)  # type: ignore[arg-type]
    for line, record in iter_json_array(split_file):
        if not isinstance(record, dict) or "vid_name" not in record or "label" not in record:
            raise bad_line(split_file, line, f"expected an object with 'vid_name' and 'label', got {record!r:.80}")
        label = record["label"]
        if not isinstance(label, int) or not 0 <= label < len(class_names):
            raise bad_line(split_file, line, f"label {label!r} outside the {len(class_names)} classes")
        name = f"{record['vid_name']}.mp4"
        collector.add(videos.resolve(name), label, split_file, line, name)
    return collector.finish(class_names)
