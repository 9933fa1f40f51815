"""``mgm-hf prepare``: transcode a dataset folder to H.264 so that motion vectors exist.

Something-Something v2 ships as VP9 WebM, which exports no motion vectors; H.264 does. The command
mirrors ``input_dir`` into ``output_dir`` (``a/b/x.webm`` → ``a/b/x.mp4``), copies the other files
(annotations) as they are, encodes files in parallel processes, and verifies every output (it
decodes, its frame count matches, it has motion vectors). Outputs are written to a temporary name
and renamed, so an interrupted run leaves no half-written video; running again skips the outputs
that verify. The input folder is never written to.

Example::

    mgm-hf prepare /data/ssv2 /data/ssv2_h264 --workers 8            # GOP 2 s, B-frames on
    mgm-hf prepare /data/ssv2 /data/ssv2_exact --exact_motion         # 1 reference, no B-frames

Options are snake_case like the example scripts'; the kebab-case spellings (``--exact-motion``)
are deprecated aliases that still work and log a warning.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from .parsers.base import VIDEO_EXTENSIONS
from .transcode import EncodeSettings, TranscodeResult, transcode_file

__all__ = ["add_arguments", "plan", "run"]

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``mgm-hf prepare`` options."""
    parser.add_argument("input_dir", type=Path, help="dataset folder to read (never modified)")
    parser.add_argument("output_dir", type=Path, help="where the H.264 mirror goes (must differ from input_dir)")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)),
                        help="parallel processes (default: all CPU cores)")
    parser.add_argument("--exact_motion", action="store_true",
                        help="one reference frame and no B-frames: vectors are exact per-frame motion")
    parser.add_argument("--gop_seconds", type=float, default=2.0, help="keyframe interval in seconds (default 2)")
    parser.add_argument("--bframes", type=int, default=2, help="B-frames (default 2; 0 with --exact_motion)")
    parser.add_argument("--crf", type=int, default=23, help="x264 quality, lower is better (default 23)")
    parser.add_argument("--preset", default="veryfast", help="x264 preset (default veryfast)")
    parser.add_argument("--short_side", type=int, default=None, help="resize the shorter side to this many pixels")
    parser.add_argument("--frame_tolerance", type=int, default=2,
                        help="allowed frame-count difference, at least 1%% of the frames (default 2)")
    parser.add_argument("--extensions", default=",".join(sorted(VIDEO_EXTENSIONS)),
                        help="comma-separated video extensions to transcode")
    parser.add_argument("--no_copy_other", dest="copy_other", action="store_false",
                        help="do not copy non-video files (annotations) into output_dir")
    parser.add_argument("--force", action="store_true", help="re-encode even outputs that verify")


def _is_inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def plan(input_dir: Path, output_dir: Path, extensions: set[str]) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """``(videos, others)``: ``(source, output .mp4)`` pairs and the non-video files, in sorted order.

    Raises ValueError when the folders are the same or nested, or two sources map to one output.
    """
    input_dir, output_dir = input_dir.resolve(), output_dir.resolve()
    if not input_dir.is_dir():
        raise ValueError(f"input_dir {input_dir} is not a folder.")
    if _is_inside(output_dir, input_dir) or _is_inside(input_dir, output_dir):
        raise ValueError(
            f"Refusing: output_dir {output_dir} and input_dir {input_dir} are the same or nested; the "
            "originals are never overwritten. Pick an output folder outside the input folder."
        )
    videos: list[tuple[Path, Path]] = []
    others: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(input_dir):
        dirnames.sort()
        for name in sorted(filenames):
            source = Path(dirpath) / name
            if source.suffix.lower() in extensions:
                videos.append((source, (output_dir / source.relative_to(input_dir)).with_suffix(".mp4")))
            else:
                others.append(source)
    clashes = [o for o, n in Counter(o for _, o in videos).items() if n > 1]
    if clashes:
        raise ValueError(f"{len(clashes)} output(s) would come from two sources (same name, other extension), "
                         f"e.g. {clashes[0]}; rename the sources first.")
    return videos, others


def _copy_others(others: list[Path], input_dir: Path, output_dir: Path) -> int:
    copied = 0
    for source in others:
        target = output_dir / source.resolve().relative_to(input_dir.resolve())
        if target.exists() and target.stat().st_size == source.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.copy2(source, temp)
        os.replace(temp, target)
        copied += 1
    return copied


def run(args: argparse.Namespace) -> int:
    """Runs the command; returns 0 when every video is encoded or verified, 1 otherwise."""
    extensions = {e if e.startswith(".") else f".{e}" for e in args.extensions.lower().split(",") if e}
    try:
        videos, others = plan(Path(args.input_dir), Path(args.output_dir), extensions)
    except ValueError as error:
        print(f"mgm-hf prepare: {error}", file=sys.stderr)
        return 2
    workers = max(1, int(args.workers))
    settings = EncodeSettings(
        gop_seconds=args.gop_seconds, bframes=args.bframes, exact_motion=args.exact_motion, crf=args.crf,
        preset=args.preset, short_side=args.short_side, frame_tolerance=args.frame_tolerance,
        threads=0 if workers == 1 else max(1, (os.cpu_count() or 1) // workers),
    )
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    copied = _copy_others(others, Path(args.input_dir), Path(args.output_dir)) if args.copy_other else 0
    results: list[TranscodeResult] = []
    with tqdm(total=len(videos), desc="prepare", unit="video", dynamic_ncols=True) as bar:
        if workers == 1:
            for source, output in videos:
                results.append(transcode_file(source, output, settings, args.force))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(transcode_file, s, o, settings, args.force) for s, o in videos]
                for future in as_completed(futures):
                    results.append(future.result())
                    bar.update()
    counts = Counter(r.status for r in results)
    for result in sorted(results, key=lambda r: r.source):
        if result.status == "failed":
            print(f"FAILED {result.source}: {result.message}", file=sys.stderr)
        elif result.message:
            print(f"note {result.source}: {result.message}", file=sys.stderr)
    print(
        f"mgm-hf prepare: {counts['encoded']} encoded, {counts['skipped']} already done, "
        f"{counts['failed']} failed, {copied} other file(s) copied -> {args.output_dir}"
    )
    return 1 if counts["failed"] else 0
