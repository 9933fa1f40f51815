"""What every annotation parser returns, and the shared helpers: locating video files, reporting
missing or malformed annotation lines with ``file:line``, and building the ``datasets.Dataset``."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import datasets

__all__ = [
    "VIDEO_EXTENSIONS",
    "AnnotationError",
    "AnnotationIssue",
    "ParsedAnnotations",
    "RecordCollector",
    "VideoResolver",
    "iter_json_array",
    "iter_text_lines",
]

logger = logging.getLogger(__name__)

OnMissing = Literal["error", "skip"]

# Lower-case suffixes of files treated as videos (FFmpeg/PyAV read them all).
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".3gp", ".asf", ".avi", ".flv", ".gif", ".m2ts", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg",
        ".mpg", ".mts", ".ogv", ".ts", ".vob", ".webm", ".wmv",
    }
)


@dataclass(frozen=True)
class AnnotationIssue:
    """One bad annotation line: the annotation file, its 1-based line number and what is wrong."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class AnnotationError(ValueError):
    """Annotation lines point at missing videos or cannot be parsed; ``issues`` lists them all."""

    def __init__(self, issues: list[AnnotationIssue], hint: str = "") -> None:
        self.issues = list(issues)
        shown = "\n  ".join(str(i) for i in self.issues[:20])
        more = f"\n  ... and {len(self.issues) - 20} more" if len(self.issues) > 20 else ""
        super().__init__(f"{len(self.issues)} bad annotation line(s):\n  {shown}{more}{hint}")


@dataclass
class ParsedAnnotations:
    """A parsed split: parallel ``paths`` / ``labels`` (index into ``class_names``; -1 = unlabelled)
    and the lines that were skipped."""

    paths: list[str]
    labels: list[int]
    class_names: list[str]
    skipped: list[AnnotationIssue] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.paths) != len(self.labels):
            raise ValueError(f"{len(self.paths)} paths but {len(self.labels)} labels.")
        bad = [label for label in self.labels if not -1 <= label < len(self.class_names)]
        if bad:
            raise ValueError(f"Labels {sorted(set(bad))[:10]} outside [0, {len(self.class_names)}).")

    def to_dataset(self, split: str | None = None, info: dict[str, Any] | None = None) -> datasets.Dataset:
        """``datasets.Dataset`` with a ``path`` string column and a ``label`` ``ClassLabel`` column."""
        features = datasets.Features(
            {"path": datasets.Value("string"), "label": datasets.ClassLabel(names=list(self.class_names))}
        )
        description = json.dumps(info or {}, sort_keys=True) if info else ""
        return datasets.Dataset.from_dict(
            {"path": self.paths, "label": self.labels},
            features=features,
            info=datasets.DatasetInfo(description=description, features=features),
            split=datasets.NamedSplit(split) if split else None,
        )


def iter_text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line_number, stripped_line)`` for each non-blank line (1-based)."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if line:
                yield number, line


def iter_json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line_number, element)`` for each element of a top-level JSON array, the line being where the
    element starts, so a bad record can be reported as ``file:line``."""
    text = Path(path).read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    pos = text.find("[")
    if pos < 0:
        raise AnnotationError([AnnotationIssue(str(path), 1, "expected a JSON array")])
    pos += 1
    line, counted = 1, 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            raise AnnotationError([AnnotationIssue(str(path), line, "unterminated JSON array")])
        if text[pos] == "]":
            return
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            element, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as error:
            raise AnnotationError([AnnotationIssue(str(path), error.lineno, error.msg)]) from None
        yield line, element


class VideoResolver:
    """Finds the video an annotation names, tolerating a changed extension (``x.webm`` in the
    annotations, ``x.mp4`` after ``mgm-hf prepare``). Each folder is listed once and cached."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._listings: dict[Path, tuple[set[str], dict[str, str]]] = {}

    def _listing(self, folder: Path) -> tuple[set[str], dict[str, str]]:
        """(every entry name, video stem → video name) of ``folder``, listed once."""
        if folder not in self._listings:
            names: set[str] = set()
            stems: dict[str, str] = {}
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        names.add(entry.name)
                        stem, ext = os.path.splitext(entry.name)
                        if ext.lower() in VIDEO_EXTENSIONS:
                            stems.setdefault(stem, entry.name)
            except (FileNotFoundError, NotADirectoryError):
                pass
            self._listings[folder] = (names, stems)
        return self._listings[folder]

    def resolve(self, relative: str | Path) -> Path | None:
        """The file ``root/relative``, or a video with the same stem in that folder; None if neither."""
        path = self.root / relative
        names, stems = self._listing(path.parent)
        if path.name in names:
            return path
        stem = path.stem if path.suffix.lower() in VIDEO_EXTENSIONS else path.name
        name = stems.get(stem)
        return path.parent / name if name else None


class RecordCollector:
    """Collects ``(path, label)`` records; a missing video is recorded with its annotation file and line
    and, at :meth:`finish`, raised (``on_missing="error"``) or logged and skipped (``"skip"``)."""

    def __init__(self, on_missing: OnMissing = "error") -> None:
        if on_missing not in ("error", "skip"):
            raise ValueError(f"on_missing must be 'error' or 'skip', got {on_missing!r}.")
        self.on_missing = on_missing
        self.paths: list[str] = []
        self.labels: list[int] = []
        self.missing: list[AnnotationIssue] = []

    def add(self, video: Path | None, label: int, file: Path, line: int, wanted: str) -> None:
        """Adds a record, or notes ``wanted`` (the name in the annotation) as missing when ``video`` is None."""
        if video is None:
            self.missing.append(AnnotationIssue(str(file), line, f"video {wanted!r} not found"))
        else:
            self.paths.append(str(video))
            self.labels.append(int(label))

    def finish(self, class_names: list[str]) -> ParsedAnnotations:
        if self.missing and self.on_missing == "error":
            raise AnnotationError(
                self.missing, "\nPass on_missing='skip' to skip these lines (they are logged)."
            )
        for issue in self.missing:
            logger.warning("Skipping annotation line %s", issue)
        if self.missing:
            logger.warning("Skipped %d annotation line(s) whose video is missing.", len(self.missing))
        return ParsedAnnotations(self.paths, self.labels, list(class_names), list(self.missing))


def bad_line(file: Path, line: int, message: str) -> AnnotationError:
    """A malformed annotation line: always an error (the file is in the wrong format)."""
    return AnnotationError([AnnotationIssue(str(file), line, message)])


def find_file(candidates: list[Path], what: str) -> Path:
    """The first existing path of ``candidates``, else a FileNotFoundError listing them all."""
    for path in candidates:
        if path.is_file():
            return path
    tried = "\n  ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"Cannot find {what}; tried:\n  {tried}")


def find_dir(candidates: list[Path], what: str) -> Path:
    """The first existing folder of ``candidates``, else a FileNotFoundError listing them all."""
    for path in candidates:
        if path.is_dir():
            return path
    tried = "\n  ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"Cannot find {what}; tried:\n  {tried}")


def normalise_split(split: str, aliases: dict[str, str], dataset: str) -> str:
    """Maps split aliases (``val`` → ``validation``) and rejects unknown splits."""
    key = split.lower()
    if key not in aliases:
        raise ValueError(f"{dataset} has no split {split!r}; valid: {sorted(set(aliases))}.")
    return aliases[key]
