#!/usr/bin/env python
"""Seconds per pretraining step (data included) for every masking strategy, as ratios to tube.

    python benchmarks/train.py                       # tiny and vit-s on CPU, short
    python benchmarks/train.py --presets vit-b --device cuda --batch_size 16 --steps 20

A step is: fetch a batch from the DataLoader (decode + motion + joint transforms + mask, the
pretraining pipeline of examples/pretrain.py on the built-in dataset), forward, backward, AdamW
step. Each preset runs in its own subprocess (so its peak memory is its own); inside it the
strategies take turns over several rounds, so drift in machine load hits them all alike. Reported:
median wall and process-CPU seconds per step, the CPU seconds spent fetching the batch (decode,
motion, transforms, mask), and the ratio of CPU time to tube's (CPU time is steadier than wall time
on a shared machine). Target: motion-guided ≤ 1.05× tube per step.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

STRATEGIES = ["tube", "random", "smm", "mgm", "mgmae"]
TARGET_STEP = 1.05  # a motion-guided step (live motion from the decoder for mgm) vs a tube step


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "vit-s"])
    parser.add_argument("--strategies", nargs="+", default=STRATEGIES)
    parser.add_argument("--image_size", type=int, default=None, help="default: 64 for tiny, 224 for the others")
    parser.add_argument("--num_frames", type=int, default=None, help="default: 8 for tiny, 16 for the others")
    parser.add_argument("--batch_size", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per strategy per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per strategy first")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_preset(args: argparse.Namespace, preset: str) -> dict:
    import torch

    from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
    from mgm_hf.data import VideoTransform, pretrain_transform, video_dataset
    from mgm_hf.data.builtin_motion import builtin_motion_dataset
    from mgm_hf.masking import build_masking_strategy
    from mgm_hf.training.data import seeded_loader
    from mgm_hf.training.recipe.optim import build_adamw, param_groups

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    size = args.image_size or (64 if preset == "tiny" else 224)
    frames = args.num_frames or (8 if preset == "tiny" else 16)
    root = str(builtin_motion_dataset())
    runs = {}
    for name in args.strategies:
        config = MGMVideoMAEConfig.from_preset(preset, image_size=size, num_frames=frames,
                                               masking={"name": name, "mask_ratio": 0.9})
        model = MGMVideoMAE(config).to(args.device).train()
        strategy = build_masking_strategy(config)
        transform = VideoTransform(pretrain_transform(size=size, motion_cell=8), num_frames=frames, frame_stride=2,
                                   motion="auto" if strategy.requires_motion else "none", masking=strategy)
        loader, _ = seeded_loader(video_dataset("videofolder", root, "train", None), transform,
                                  batch_size=args.batch_size, seed=0)
        optimizer = build_adamw(param_groups(model), lr=1e-4)
        runs[name] = {"model": model, "optimizer": optimizer, "iter": iter(loader), "loader": loader, "times": []}

    def step(run: dict) -> tuple[float, float, float]:
        """(wall s, CPU s, CPU s of the data part) of one step."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            batch = next(run["iter"])
        except StopIteration:
            run["iter"] = iter(run["loader"])
            batch = next(run["iter"])
        data_cpu = time.process_time() - cpu
        out = run["model"](pixel_values=batch["pixel_values"].to(args.device),
                           bool_masked_pos=batch["bool_masked_pos"].to(args.device))
        out.loss.backward()
        run["optimizer"].step()
        run["optimizer"].zero_grad(set_to_none=True)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - wall, time.process_time() - cpu, data_cpu

    for run in runs.values():
        for _ in range(args.warmup):
            step(run)
    for _ in range(args.rounds):
        for run in runs.values():
            run["times"] += [step(run) for _ in range(args.steps)]
    peak = (torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda")
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"preset": preset, "image_size": size, "num_frames": frames,
            "wall_s": {name: statistics.median(t[0] for t in run["times"]) for name, run in runs.items()},
            "cpu_s": {name: statistics.median(t[1] for t in run["times"]) for name, run in runs.items()},
            "data_cpu_s": {name: statistics.median(t[2] for t in run["times"]) for name, run in runs.items()},
            "peak_mib": peak, "peak_kind": "cuda max allocated" if args.device.startswith("cuda") else "process RSS"}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args._worker:
        print("RESULT " + json.dumps(run_preset(args, args._worker)))
        return
    print(f"batch {args.batch_size}, {args.rounds} rounds × {args.steps} timed steps per strategy, "
          f"{args.threads} threads, device {args.device}")
    for preset in args.presets:
        cmd = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]), "--_worker", preset]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(f"{preset}: failed\n{proc.stderr[-2000:]}")
            continue
        result = json.loads(line[len("RESULT "):])
        base = result["cpu_s"].get("tube")
        print(f"\n{preset} ({result['num_frames']} frames × {result['image_size']}² px), "
              f"peak memory {result['peak_mib']:.0f} MiB ({result['peak_kind']})")
        data_base = result["data_cpu_s"].get("tube")
        print(f"  {'strategy':<8} {'wall s':>7} {'CPU s':>7} {'data CPU s':>10} {'CPU × tube':>10} {'data × tube':>11}")
        for name, cpu in result["cpu_s"].items():
            ratio = f"{cpu / base:10.2f}" if base else "         -"
            data = result["data_cpu_s"][name]
            data_ratio = f"{data / data_base:11.2f}" if data_base else "          -"
            print(f"  {name:<8} {result['wall_s'][name]:7.3f} {cpu:7.3f} {data:10.3f} {ratio} {data_ratio}")
        for name in ("mgm", "mgmae"):
            if base and name in result["cpu_s"]:
                ratio = result["cpu_s"][name] / base
                print(f"  target {name} step <= {TARGET_STEP:.2f}x tube (CPU): "
                      f"{'meets' if ratio <= TARGET_STEP else 'misses'} it ({ratio:.2f}x)")

if __name__ == "__main__":
    main()
