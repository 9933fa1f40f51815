"""Masks per second for every strategy, side by side in one run (CPU).

Batch 32 of 16 × 224 × 224 clips, patch 16, tubelet 2 (L = 1568). Motion is given on the 8-px
motion-vector grid (28 × 28) for every motion-guided strategy, and also at full resolution
(224 × 224) for ``mgm`` and ``mgmae``, and ``mgmae`` with pixel maps (``map_stride=1``). Prints ms
per clip (wall clock), masks per second, the time relative to ``tube`` and the process's CPU time
per clip (best of the repeats; on a shared, oversubscribed machine wall time includes waiting for a
core, CPU time much less). One thread by default: masks are made in DataLoader workers, and timings
on a shared machine are steadier.

    python benchmarks/masking.py [--repeats 5] [--threads N] [--batch 32]
"""

from __future__ import annotations

import argparse
import time

import torch

from mgm_hf.masking import build_masking_strategy

SIZES = {"num_frames": 16, "image_size": 224, "patch_size": 16, "tubelet_size": 2}


def smooth_motion(batch: int, grid: int, generator: torch.Generator) -> torch.Tensor:
    """(B, 16, grid, grid, 2) smooth random motion in pixels: a random translation plus a blob."""
    shift = (torch.rand(batch, 16, 1, 1, 2, generator=generator) - 0.5) * 8
    coords = torch.linspace(-1, 1, grid)
    blob = torch.exp(-(coords.view(-1, 1) ** 2 + coords.view(1, -1) ** 2) * 4)
    return shift + 6 * blob.view(1, 1, grid, grid, 1)


def time_strategy(strategy, motion, batch: int, repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` (wall, CPU) seconds per batch."""
    generator = torch.Generator().manual_seed(0)
    strategy(batch, motion=motion, generator=generator)  # warm-up
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        strategy(batch, motion=motion, generator=generator)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32, help="clips per call (1 = a DataLoader worker)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1, as in a DataLoader worker; 0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    batch = args.batch
    mv_grid = smooth_motion(batch, 28, generator)
    full_res = smooth_motion(batch, 224, generator)
    cases = [
        ("random", {"name": "random"}, None),
        ("tube", {"name": "tube"}, None),
        ("smm", {"name": "smm"}, None),
        ("mgm (8-px grid)", {"name": "mgm"}, mv_grid),
        ("mgm (full res)", {"name": "mgm"}, full_res),
        ("mgmae (8-px grid)", {"name": "mgmae"}, mv_grid),
        ("mgmae (full res)", {"name": "mgmae"}, full_res),
        ("mgmae stride 1 (8-px grid)", {"name": "mgmae", "map_stride": 1}, mv_grid),
        ("mgmae stride 1 (full res)", {"name": "mgmae", "map_stride": 1}, full_res),
    ]
    print(f"batch {batch}, 16x224x224, patch 16, tubelet 2, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, best of {args.repeats}")
    results = []
    for label, config, motion in cases:
        strategy = build_masking_strategy(config, **SIZES)
        results.append((label, time_strategy(strategy, motion, batch, args.repeats)))
    tube = dict(results)["tube"][0]
    print(f"{'strategy':30s} {'ms/clip':>9s} {'masks/s':>10s} {'x tube':>8s} {'cpu ms/clip':>12s}")
    for label, (seconds, cpu) in results:
        print(f"{label:30s} {1000 * seconds / batch:9.3f} {batch / seconds:10.0f} {seconds / tube:8.1f} "
              f"{1000 * cpu / batch:12.3f}")


if __name__ == "__main__":
    main()
