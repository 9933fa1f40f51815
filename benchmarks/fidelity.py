"""Small-scale fidelity reproduction of MGM / MGMAE on CPU, on the built-in motion dataset.

Three questions, all strategies side by side in one run (tiny model, same data, seeds and steps):

1. *Where the mask falls*: share of motion energy on visible tokens at ratio 0.9 (and 0.75), against
   the chance level 1 - ρ (``mgm_hf.evaluation.visible_motion_share``).
2. *Leakage*: the error on masked tokens of a copy-from-visible reconstruction that follows the
   decoded motion (``copy_from_visible``; lower = the mask leaks more), and each strategy's
   pretraining loss after the same number of steps (train log, and held out on the validation
   clips with the strategy's own seeded masks).
3. *Downstream*: each pretrained encoder linear-probed and fine-tuned on the dataset's direction
   labels, mean ± std over seeds, plus a random-init reference and MGMAE Table 1 ablations (base
   frame first vs middle, hole fill tube vs invisible).

Training goes through ``examples/pretrain.py``, ``examples/linear_probe.py`` and
``examples/finetune.py`` (their ``main(argv)``, in this process). Writes
``benchmarks/results/fidelity{,_quick}.{md,json,png}``, stamped with date, machine and command.

    python benchmarks/fidelity.py --no_ablations  # full: ~17 min on 2 shared CPU cores (~20 with ablations)
    python benchmarks/fidelity.py --quick         # < 5 min: 1 seed, 6 steps, probe only, no random-init row

The data is the built-in dataset's default ``texture="smooth"`` (a colour ramp behind a smooth
texture). On v1's noise textures no strategy's loss left the blind value ((n − 1)/n ≈ 0.992 in
norm-pix space) in 108 steps, nor in 1000 (in-memory runs, lr 1e-3 or 3e-3, random or tube masks):
there a masked patch is unpredictable from its visible neighbours after per-patch normalisation.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import logging
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.data import load_video_dataset
from mgm_hf.data.builtin_motion import BuiltinMotionSpec, builtin_motion_dataset
from mgm_hf.data.transforms import eval_transforms
from mgm_hf.evaluation import (
    copy_from_visible,
    fill_unfound_with_token_mean,
    masked_token_mse,
    pretraining_loss,
    token_motion_energy,
    visible_motion_share,
    visible_token_share,
)
from mgm_hf.masking import build_masking_strategy
from mgm_hf.video import read_clip
from mgm_hf.visualization.reconstruction import unnormalize

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GEOMETRY = {"num_frames": 8, "image_size": 64, "patch_size": 8, "tubelet_size": 2}  # the tiny preset
STRIDE = 2
# name -> masking config. The papers' ratio 0.9; MGMAE's Table 1 ablations as extra rows.
RUNS: dict[str, dict[str, Any]] = {
    "tube": {"name": "tube"},
    "random": {"name": "random"},
    "smm": {"name": "smm"},
    "mgm": {"name": "mgm"},
    "mgmae": {"name": "mgmae"},
    "mgmae base=first": {"name": "mgmae", "base_frame": "first"},
    "mgmae fill=invisible": {"name": "mgmae", "hole_fill": "invisible"},
}
BASE_STRATEGIES = ["tube", "random", "smm", "mgm", "mgmae"]
# Ablations trained too (others are only measured); a row whose masks equal another's is not trained.
TRAINED_ABLATIONS = ["mgmae base=first", "mgmae fill=invisible"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="< 5 minutes: 1 seed, few steps, no fine-tuning")
    parser.add_argument("--seeds", type=int, default=None, help="training seeds (full 2, quick 1)")
    parser.add_argument("--pretrain_steps", type=int, default=None, help="full 540 (30 epochs), quick 6")
    parser.add_argument("--finetune_steps", type=int, default=None, help="full 36 (2 epochs), quick 0 (skip)")
    parser.add_argument("--probe_epochs", type=int, default=None, help="full 100, quick 20")
    parser.add_argument("--metric_clips", type=int, default=None, help="clips for the mask metrics (full 36, quick 12)")
    parser.add_argument("--no_ablations", action="store_true", help="skip the MGMAE Table 1 rows in training")
    parser.add_argument("--work_dir", default=None, help="training outputs (default: a temporary folder)")
    parser.add_argument("--out", default=None, help="results stem (default benchmarks/results/fidelity[_quick])")
    parser.add_argument("--from_json", default=None, help="only re-render the .md and .png of an earlier run's JSON")
    args = parser.parse_args(argv)
    full = {"seeds": 2, "pretrain_steps": 540, "finetune_steps": 36, "probe_epochs": 100, "metric_clips": 36}
    quick = {"seeds": 1, "pretrain_steps": 6, "finetune_steps": 0, "probe_epochs": 20, "metric_clips": 12}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.quick:
        args.no_ablations = True
    return args


# ---------------------------------------------------------------------------------------------- data
def load_clips(count: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """The first ``count`` validation clips of the built-in dataset, centre view, from frame 0:
    pixel_values (N, T, C, H, W) normalised, motion vectors (N, T, 8, 8, 2) in pixels, labels."""
    root = builtin_motion_dataset(BuiltinMotionSpec())
    rows = load_video_dataset("videofolder", root, "validation")
    paths, split_labels = rows["path"], rows["label"]
    # Spread over the classes: the split lists class by class.
    order = sorted(range(len(paths)), key=lambda i: (i % max(1, len(paths) // 6), i))[:count]
    transform = eval_transforms(GEOMETRY["image_size"], num_crops=1, motion_cell=8)[0]
    pixels, motions, labels = [], [], []
    for i in order:
        clip = read_clip(paths[i], num_frames=GEOMETRY["num_frames"], frame_stride=STRIDE, start_frame=0,
                         motion="motion_vectors")
        x, m = transform(clip.frames, clip.motion)
        pixels.append(torch.as_tensor(x).float())
        motions.append(torch.as_tensor(np.asarray(m)).float())
        labels.append(int(split_labels[i]))
    return torch.stack(pixels), torch.stack(motions), labels


# ------------------------------------------------------------------------------ 1 + 2a: mask metrics
def mask_metrics(pixel_values: torch.Tensor, motion: torch.Tensor, ratios: list[float]) -> list[dict[str, Any]]:
    """Visible motion share and copy-from-visible error per strategy and ratio (one seeded mask per clip)."""
    frames = unnormalize(pixel_values).clamp(0, 1)
    rows = []
    for ratio in ratios:
        seen: dict[bytes, str] = {}
        for name, masking in RUNS.items():
            strategy = build_masking_strategy({**masking, "mask_ratio": ratio}, **GEOMETRY)
            mask = strategy(pixel_values.shape[0], motion=motion, generator=torch.Generator().manual_seed(0))
            same_as = seen.setdefault(mask.numpy().tobytes(), name)
            energy = token_motion_energy(motion, strategy.geometry)
            share = visible_motion_share(mask, energy)
            copy = copy_from_visible(frames, motion, mask, strategy.geometry)
            blind = fill_unfound_with_token_mean(copy.frames, frames, copy.found, strategy.geometry)
            rows.append({
                "strategy": name, "mask_ratio": ratio,
                "visible_motion_share": float(np.nanmean(share.numpy())),
                "visible_motion_share_std": float(np.nanstd(share.numpy())),
                "chance": float(visible_token_share(mask).mean()),
                "copy_mse": float(masked_token_mse(copy.frames, frames, mask, strategy.geometry).mean()),
                "copy_mse_normpix": float(masked_token_mse(blind, frames, mask, strategy.geometry,
                                                           norm_pix=True).mean()),
                "copy_found": float(_found_share(copy.found, mask, strategy.geometry)),
                "same_masks_as": None if same_as == name else same_as,
            })
            logging.info("metrics %s", rows[-1])
    return rows


def _found_share(found: torch.Tensor, mask: torch.Tensor, geometry: Any) -> float:
    """Share of masked pixels that found a visible source."""
    from mgm_hf.evaluation import token_mask_to_pixels

    masked = token_mask_to_pixels(mask, geometry)
    return float((found & masked).sum() / masked.sum().clamp_min(1))


# ------------------------------------------------------------------------ 2b + 3: training via examples
def _example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"mgm_example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _quiet_call(fn: Any, argv: list[str], log: Path) -> None:
    """Runs an example's ``main(argv)`` with its console output sent to ``log``."""
    with open(log, "a") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        fn(argv)


def train_one(name: str, seed: int, args: argparse.Namespace, work: Path, clips: tuple[torch.Tensor, torch.Tensor],
              examples: dict[str, Any], draw_picture: bool) -> dict[str, Any]:
    """Pretrain (or random init for ``name == "random init"``), held-out loss, linear probe, fine-tune."""
    out = work / f"{name.replace(' ', '_').replace('=', '-')}-seed{seed}"
    log = work / "runs.log"
    record: dict[str, Any] = {"strategy": name, "seed": seed}
    start = time.perf_counter()
    if name == "random init":
        torch.manual_seed(seed)
        config = MGMVideoMAEConfig.from_preset("tiny", masking={"name": "tube", "mask_ratio": 0.9})
        MGMVideoMAE(config).save_pretrained(out)
    else:
        masking = dict(RUNS[name])
        argv = ["--masking", masking.pop("name"), "--mask_ratio", "0.9", "--masking_options", json.dumps(masking),
                "--max_train_steps", str(args.pretrain_steps), "--seed", str(seed), "--output_dir", str(out),
                "--report_to", "none", "--logging_steps", "1", "--frame_stride", str(STRIDE),
                "--picture_steps", str(args.pretrain_steps if draw_picture else 0)]
        _quiet_call(examples["pretrain"].main, argv, log)
        losses = [json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()]
        record["train_loss_last10"] = float(np.mean(losses[-10:]))
        model = MGMVideoMAE.from_pretrained(out)
        strategy = build_masking_strategy(model.config)
        record["heldout_loss"] = pretraining_loss(model, clips[0], clips[1], strategy, seed=0)
        record["pictures"] = sorted(str(p) for p in (out / "pictures").glob("*.png"))
    record["pretrain_s"] = time.perf_counter() - start
    common = ["--model_name_or_path", str(out), "--seed", str(seed), "--report_to", "none",
              "--frame_stride", str(STRIDE)]
    _quiet_call(examples["linear_probe"].main,
                [*common, "--output_dir", str(out / "probe"), "--probe_epochs", str(args.probe_epochs)], log)
    record["probe_top1"] = json.loads((out / "probe" / "probe_results.json").read_text())["validation"]["top1"]
    if args.finetune_steps > 0:
        _quiet_call(examples["finetune"].main,
                    [*common, "--output_dir", str(out / "finetune"), "--max_train_steps", str(args.finetune_steps)],
                    log)
        record["finetune_top1"] = json.loads((out / "finetune" / "eval_results.json").read_text())["validation"]["top1"]
    record["total_s"] = time.perf_counter() - start
    logging.info("run %s", record)
    return record


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std over seeds per strategy."""
    out = []
    for name in dict.fromkeys(r["strategy"] for r in runs):
        group = [r for r in runs if r["strategy"] == name]
        row: dict[str, Any] = {"strategy": name, "seeds": len(group)}
        for key in ("train_loss_last10", "heldout_loss", "probe_top1", "finetune_top1"):
            values = [r[key] for r in group if key in r]
            if values:
                row[key] = float(np.mean(values))
                row[key + "_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------- reporting
def _pm(row: dict[str, Any], key: str, scale: float = 1.0, digits: int = 3) -> str:
    if key not in row:
        return "–"
    std = row.get(key + "_std", 0.0) * scale
    return f"{row[key] * scale:.{digits}f} ± {std:.{digits}f}" if row.get("seeds", 1) > 1 else f"{row[key] * scale:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    meta = result["meta"]
    lines = [
        "# Fidelity benchmark (small scale, CPU)", "",
        f"- date: {meta['date']}", f"- machine: {meta['platform']}, {meta['cpu_count']} CPUs "
        f"(shared), torch {meta['torch']}", f"- command: `{meta['command']}`",
        f"- data: built-in motion dataset ({meta['dataset']}); model: tiny preset "
        f"({GEOMETRY['num_frames']}×{GEOMETRY['image_size']}², patch {GEOMETRY['patch_size']}, tubelet "
        f"{GEOMETRY['tubelet_size']}, L = 256 tokens); settings: {meta['settings']}",
        f"- wall time: {meta['wall_s'] / 60:.1f} min", "",
        "## 1–2a. Where the mask falls, and what a copy-along-the-motion baseline recovers", "",
        f"{meta['metric_clips']} validation clips, decoded H.264 motion vectors (exact per-frame motion for "
        "this dataset), one seeded mask per clip. *Visible motion share*: motion energy (Σ|v|² per token) "
        "on visible tokens; chance = share of visible tokens (1 − ρ). *Copy MSE*: masked-token MSE of "
        "copying each masked pixel from the nearest frame where its tracked content is visible (pixels in "
        "[0, 1], pixels without a source get the clip's mean visible colour; *norm-pix*: in the "
        "norm_pix_loss space, pixels without a source get their token's mean, i.e. 0 in that space, the "
        "blind guess that scores ≈ 1 — comparable to the pretraining loss); *found*: share of masked pixels "
        "with a visible source. *(= X)*: this row's masks are identical to X's on these clips (then it is "
        "not trained below). Static clips (no motion) are left out of the share.", "",
        "| strategy | ρ | visible motion share | chance (1−ρ) | copy MSE | copy MSE norm-pix | found |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["mask_metrics"]:
        same = f" (= {r['same_masks_as']})" if r.get("same_masks_as") else ""
        lines.append(f"| {r['strategy']}{same} | {r['mask_ratio']:.2f} | {r['visible_motion_share']:.3f} "
                     f"| {r['chance']:.3f} | {r['copy_mse']:.4f} | {r['copy_mse_normpix']:.3f} | {r['copy_found']:.2f} |")
    if result["summary"]:
        lines += [
            "", "## 2b–3. Pretraining loss at matched steps, linear probe, fine-tuning", "",
            f"Tiny model, ρ = 0.9, {meta['settings']['pretrain_steps']} pretraining steps of batch 8, "
            f"mean ± std over {meta['settings']['seeds']} seed(s). *Train loss*: mean of the last 10 logged "
            "steps. *Held-out loss*: validation clips with the strategy's own seeded masks (norm-pix MSE). "
            "A blind predictor (zeros in norm-pix space: each masked patch's mean) scores (n − 1)/n ≈ 0.992 "
            "on both losses (n = 128 pixels per channel of a patch). Top-1 on the 36 validation clips (6 classes, chance 0.167).", "",
            "| strategy | train loss | held-out loss | linear probe top-1 | fine-tune top-1 |",
            "|---|---|---|---|---|",
        ]
        for r in result["summary"]:
            lines.append(f"| {r['strategy']} | {_pm(r, 'train_loss_last10', digits=4)} "
                         f"| {_pm(r, 'heldout_loss', digits=4)} "
                         f"| {_pm(r, 'probe_top1')} | {_pm(r, 'finetune_top1')} |")
    lines += ["", "Raw numbers: the JSON next to this file. Plot: the PNG next to this file.", ""]
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [r for r in result["mask_metrics"] if r["mask_ratio"] == 0.9]
    names = [r["strategy"] for r in metrics]
    panels = 3 if result["summary"] else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2))
    x = np.arange(len(names))
    axes[0].bar(x, [r["visible_motion_share"] for r in metrics], color="tab:blue")
    axes[0].axhline(metrics[0]["chance"], color="k", ls="--", label="chance (1 − ρ)")
    axes[0].set_title("motion energy on visible tokens (ρ = 0.9)")
    axes[1].bar(x, [r["copy_mse_normpix"] for r in metrics], color="tab:orange")
    axes[1].set_title("copy-from-visible error, norm-pix (lower = leakier)")
    for ax in axes[:2]:
        ax.set_xticks(x, names, rotation=35, ha="right", fontsize=8)
    axes[0].legend()
    if result["summary"]:
        rows = result["summary"]
        xs = np.arange(len(rows))
        width = 0.4
        for offset, key, label in ((-width / 2, "probe_top1", "linear probe"), (width / 2, "finetune_top1", "fine-tune")):
            if any(key in r for r in rows):
                axes[2].bar(xs + offset, [r.get(key, np.nan) for r in rows], width,
                            yerr=[r.get(key + "_std", 0.0) for r in rows], capsize=3, label=label)
        axes[2].axhline(1 / 6, color="k", ls="--", label="chance")
        axes[2].set_xticks(xs, [r["strategy"] for r in rows], rotation=35, ha="right", fontsize=8)
        axes[2].set_title("validation top-1 (mean ± std over seeds)")
        axes[2].legend(fontsize=8)
    fig.suptitle(f"mgm_hf fidelity, tiny model on the built-in motion dataset — {result['meta']['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        stem = Path(args.from_json).with_suffix("")
        stem.with_suffix(".md").write_text(markdown(result))
        plot(result, stem.with_suffix(".png"))
        print(markdown(result))
        return
    started = time.perf_counter()
    stem = Path(args.out) if args.out else RESULTS / ("fidelity_quick" if args.quick else "fidelity")
    stem.parent.mkdir(parents=True, exist_ok=True)
    command = "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])

    clips = load_clips(args.metric_clips)
    logging.info("clips %s, motion %s", tuple(clips[0].shape), tuple(clips[1].shape))
    metrics = mask_metrics(clips[0], clips[1], [0.9, 0.75])

    import tempfile

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="mgm_fidelity_"))
    work.mkdir(parents=True, exist_ok=True)
    examples = {name: _example(name) for name in ("pretrain", "linear_probe", "finetune")}
    duplicates = {r["strategy"] for r in metrics if r["mask_ratio"] == 0.9 and r["same_masks_as"]}
    names = ([] if args.quick else ["random init"]) + BASE_STRATEGIES + ([] if args.no_ablations else
                                                [n for n in TRAINED_ABLATIONS if n not in duplicates])
    runs = []
    for seed in range(args.seeds):
        for name in names:
            runs.append(train_one(name, seed, args, work, clips, examples, draw_picture=(seed == 0 and name == "mgm")))
            logging.info("elapsed %.1f min", (time.perf_counter() - started) / 60)
    result = {
        "meta": {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "command": command, "dataset": f"builtin_motion {BuiltinMotionSpec()}",
            "settings": {k: getattr(args, k) for k in ("seeds", "pretrain_steps", "finetune_steps", "probe_epochs")},
            "metric_clips": args.metric_clips, "wall_s": time.perf_counter() - started, "work_dir": str(work),
        },
        "mask_metrics": metrics,
        "runs": runs,
        "summary": summarise(runs),
    }
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    text = markdown(result)
    stem.with_suffix(".md").write_text(text)
    plot(result, stem.with_suffix(".png"))
    print(text)
    if any(math.isnan(r["visible_motion_share"]) for r in metrics):
        print("warning: a visible motion share is NaN (no clip had motion)")


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        main()
