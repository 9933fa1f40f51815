"""``mgm-hf visualize VIDEO --strategy NAME [--model CHECKPOINT] --out FILE.{gif,mp4,png}``."""

from __future__ import annotations

import argparse

from mgm_hf.argparse_types import json_dict
from mgm_hf.masking import available_masking_strategies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", nargs="?", default=None,
                        help="a video file, or builtin:<index> for the built-in motion dataset")
    parser.add_argument("--out", required=True,
                        help="output .gif or .mp4 (the clip over time, one picture per frame: best for more than "
                             "8 frames) or .png (a still grid of all frames, wrapped into rows to stay at most "
                             "1600 px wide)")
    parser.add_argument("--strategy", choices=available_masking_strategies(), default=None,
                        help="masking strategy (default: the model's, else mgm)")
    parser.add_argument("--model", default=None, help="MGMVideoMAE checkpoint: adds the reconstruction row")
    parser.add_argument("--mask_ratio", type=float, default=None, help="default: the model's, else 0.9")
    parser.add_argument("--options", type=json_dict, default=None,
                        help='strategy options as JSON, e.g. \'{"base_frame": "first", "hole_fill": "invisible"}\'')
    parser.add_argument("--seed", type=int, default=0, help="seed of the mask (and of a random start)")
    clip = parser.add_argument_group("clip sampling and geometry (default: the model's)")
    clip.add_argument("--num_frames", type=int, default=None)
    clip.add_argument("--stride", type=int, default=2, help="frames between samples")
    clip.add_argument("--start", type=int, default=0, help="first frame (-1: random, seeded)")
    clip.add_argument("--size", type=int, default=None, help="square crop size")
    clip.add_argument("--patch_size", type=int, default=None)
    clip.add_argument("--tubelet_size", type=int, default=None)
    clip.add_argument("--motion", default="auto", choices=["auto", "motion_vectors", "optical_flow", "none"])
    source = parser.add_argument_group("other sources")
    source.add_argument("--builtin", action="store_true", help="a video of the built-in motion dataset (--index)")
    source.add_argument("--dataset", default=None, help="a load_video_dataset name (with --root)")
    source.add_argument("--root", default=None)
    source.add_argument("--split", default="train")
    source.add_argument("--index", type=int, default=0)
    drawing = parser.add_argument_group("drawing")
    drawing.add_argument("--no_arrows", action="store_true", help="no vector-field row")
    drawing.add_argument("--scale", type=int, default=None, help="integer upscaling of every panel")
    drawing.add_argument("--fps", type=int, default=4, help="GIF/MP4 frame rate")


def run(args: argparse.Namespace) -> int:
    from .api import visualize

    result = visualize(
        args.video, out=args.out, strategy=args.strategy, model=args.model, mask_ratio=args.mask_ratio,
        options=args.options, seed=args.seed, num_frames=args.num_frames, stride=args.stride,
        start=None if args.start < 0 else args.start, size=args.size, patch_size=args.patch_size,
        tubelet_size=args.tubelet_size, motion=args.motion, builtin=args.builtin, dataset=args.dataset,
        root=args.root, split=args.split, index=args.index, arrows=not args.no_arrows, scale=args.scale,
        fps=args.fps,
    )
    rows = ", ".join(p.name for p in result.panels)
    print(f"wrote {result.path} ({result.video}; {int(result.mask.sum())}/{result.mask.numel()} tokens masked; "
          f"rows: {rows})")
    return 0


__all__ = ["add_arguments", "run"]
