"""Something-Something v2: ``labels.json`` (template name → id) and ``train.json`` /
``validation.json`` / ``test.json``: a JSON array of ``{"id", "label", "template", "placeholders"}``.

The class is the ``template`` with its brackets removed (``"Putting [something] on [something]"`` →
``"Putting something on something"``). Videos are ``<id>.webm`` (or any extension, e.g. ``.mp4``
after ``mgm-hf prepare``) in ``root/20bn-something-something-v2/`` (or ``videos/``, or ``root``).
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

SPLITS = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}


def template_to_class(template: str) -> str:
    """``"Pushing [something] from left to right"`` → ``"Pushing something from left to right"``."""
    return template.replace("[", "").replace("]", "")


@register_dataset_parser("ssv2")
def parse_ssv2(
    root: str | Path,
    split: str = "train",
    *,
    on_missing: str = "error",
    annotation_dir: str | Path | None = None,
    video_dir: str | Path | None = None,
):
    """Parses SSv2. ``annotation_dir`` defaults to ``root/labels`` (or ``root``); ``video_dir`` to
    ``root/20bn-something-something-v2``, ``root/videos`` or ``root``. The test split has no labels
    (label -1)."""
    root = Path(root)
    split = normalise_split(split, SPLITS, "ssv2")
    ann = Path(annotation_dir) if annotation_dir else find_dir([root / "labels", root], "the SSv2 labels folder")
    labels_file = find_file([ann / "labels.json", ann / "something-something-v2-labels.json"], "SSv2 labels.json")
    split_file = find_file(
        [ann / f"{split}.json", ann / f"something-something-v2-{split}.json"], f"the SSv2 {split} json"
    )
    mapping = json.loads(labels_file.read_text(encoding="utf-8"))
    if not isinstance(mapping, dict):
        raise bad_line(labels_file, 1, "expected a JSON object {template name: id}")
    class_ids = {name: int(index) for name, index in mapping.items()}
    class_names = [name for name, _ in sorted(class_ids.items(), key=lambda kv: kv[1])]
    if [class_ids[n] for n in class_names] != list(range(len(class_names))):
        raise bad_line(labels_file, 1, "class ids are not 0..N-1")

    videos = VideoResolver(
        Path(video_dir) if video_dir
        else find_dir([root / "20bn-something-something-v2", root / "videos", root], "the SSv2 videos")
    )
    collector = RecordCollector(on_missing)  # type: ignore[arg-type]
    for line, record in iter_json_array(split_file):
        if not isinstance(record, dict) or "id" not in record:
            raise bad_line(split_file, line, f"expected an object with an 'id', got {record!r:.80}")
        if split == "test":
            label = -1
        else:
            if "template" not in record:
                raise bad_line(split_file, line, f"record {record['id']!r} has no 'template'")
            name = template_to_class(record["template"])
            if name not in class_ids:
                raise bad_line(split_file, line, f"template {name!r} is not in {labels_file.name}")
            label = class_ids[name]
        video_id = str(record["id"])
        collector.add(videos.resolve(f"{video_id}.webm"), label, split_file, line, f"{video_id}.webm")
    return collector.finish(class_names)
