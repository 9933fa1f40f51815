"""Fidelity benchmark v3: could motion-guided masking beat tube masking at small scale, on CPU?

An experiment built so that the papers' mechanism has something to act on and a null result can
win. Data (``fidelity_scenes``, ``fidelity_data``): generated clips of 8 frames at 64², a camera
that pans with a random velocity independent of the label over a dimmed background of a colour
ramp, a smooth texture and two crossed sinusoidal gratings (so the pan shows and a tube
mask leaks: content hidden at one place shows up elsewhere in other frames), one bright actor of
random shape, colour and texture whose *direction of motion relative to the background* is the
label (8 classes: the compass directions at 45° steps, 1.5–2 px/frame against a pan of up to ±2
px/frame per axis, so the on-screen motion alone is ambiguous; frame 0 is bit-identical for every
label), and 1–2 smaller distractors moving at up to 3.5 px/frame. Every
clip goes through a real H.264 encode and decode (PyAV; the model sees decoded pixels); the exact
per-pixel motion of the rendered frames is known.

Protocol (all seed-matched: for a seed, every strategy starts from the same weights, sees the same
pretraining clips in the same order and fine-tunes with the same head and order):

* strategies at ρ = 0.9 with the library's defaults: ``random``, ``tube``, ``smm`` (no motion),
  ``mgm`` (H.264 motion vectors, as the MGM paper), ``mgmae`` (the exact rendered motion, i.e. what a
  perfect optical-flow estimator returns; the paper uses RAFT), ``mgmae-mv`` (MGMAE's warping
  guided by the H.264 motion vectors instead of flow, a variant neither paper has), × seeds, plus
  ``none`` (random init, no pretraining);
* pretraining: the tiny preset (8 × 64², patch 8, tubelet 2), the library's tiny recipe (peak lr
  3.2e-2 × 8 / 256 = 1e-3, warmup 10 %, cosine), 1000 steps of 8 clips for every strategy, from a
  pool of 8000 generated clips so each is seen once per run (in earlier pilots a pool of 144 clips
  repeated left the blind value early, 0.74, by memorising). The norm-pix loss moves slowly at this size: see the pilots
  below;
* held-out loss on the validation clips under each model's own masks and under common tube and
  common MGMAE masks (fixed seeds: the same masks for every model; MGMAE Table 2's task difficulty
  vs model quality);
* frozen encoder features (no mask) of the probe training set and the validation clips, mean-pooled
  and per tubelet time step (spatial mean per step, concatenated): weighted k-NN (k = 10, cosine)
  and a linear probe (logistic regression, L-BFGS, L2 1e-2 on standardised features);
* fine-tuning of the whole encoder on ``--finetune_per_class`` labelled clips per class (the first
  ones of the probe training set) for ``--finetune_epochs`` epochs at batch 16, peak lr 3e-3, the same
  lr in every layer, every training clip through a random symmetry of the square with its direction
  label mapped to match (``fidelity_scenes.symmetry_augment``), validation top-1 recorded every
  ``--eval_every`` epochs (the curve shows whether it converged);
* mask metrics on the validation clips, every one a mean over ``--metric_seeds`` (≥ 20) seeded masks
  per clip with its standard error, next to chance 1 − ρ and the share predicted by position alone
  (``mgm_hf.mask_metrics.share_over_seeds``);
* power checks: a linear probe on hand-made motion features (must be far above chance) and on one
  frame's pixels (the first frame must be at chance).

Support criterion, fixed before any run (also printed in the results): the primary outcome is
fine-tune top-1. Strategy X *beats tube* when the paired difference X − tube is > 0 for every seed
AND its mean over seeds is > 2 SE, SE = max(SE over seeds, SE of the per-clip paired correctness
difference over all (seed, clip) pairs); *worse than tube* mirrored; otherwise *no detectable
difference*. The papers' claim is supported here if mgm or mgmae beats tube; a null result (neither
does) is a valid outcome. Linear-probe and k-NN top-1 (per-time-step features) are secondary
outcomes under the same rule. Power gate: a comparison X vs tube gets a verdict only if X or tube is
above chance by > 3 binomial SEs; otherwise it reads "no power (both at chance)".

Design pilots (one CPU thread, H.264-decoded clips; random init = the tiny model fine-tuned from its
initial weights, 400 validation clips, chance 0.125; "train" = training top-1 in the last epoch). The
v3 design before them (12–18 px actor of random colour at 1–1.4 px/frame, classes right / left / up /
down / circling cw / ccw / move-then-stop / stop-then-move, fine-tune of 10 clips per class at lr 5e-3
with layer decay 0.75) left every model at chance in its full run. Pilots:

| scene | fine-tune (clips × epochs, lr) | random init: val (train) top-1 |
|---|---|---|
| old classes, actor 16–20 px at 2–2.5 px/frame, pan ±1 | 320 × 25, 5e-3, decay 0.75 | 0.125 (0.18) |
| same | 320 × 20, 1e-3, no decay | 0.117 (0.40: memorises) |
| 8 directions, same actor | 320 × 20, 1e-3 | 0.123 (0.42) |
| same | 640 × 10, 1e-3, symmetry augmentation | 0.135 (0.11) |
| same, bright actor, background ramp × 0.4 | 640 × 10, same | 0.900 (0.91) |
| bright, 1.5–2 px/frame, pan ±2, ramp × 0.4 | 320 × 15, same | 0.472 (0.46) |
| same, whole background × 0.55 instead | 320 × 15, same | 0.477 (0.47) |
| same + gratings (weight 0.4): the default | 320 × 15, same | 0.438 (0.47) |

The contrast polarity decided it: with an actor of random colour no setting left chance, with an actor
always brighter than the background the same model and recipe learnt the directions. The gratings
then cost a little accuracy (curve 0.13, 0.29, 0.39, 0.44 at epochs 6, 9, 12, 15, still rising, hence
18 epochs) but make the pan visible: the background's per-patch pixel std rises from 1.9 to 9.6
grey levels (without them a tube mask leaks next to nothing, and H.264 noise is a large part of a
background patch), and the linear probe on H.264-vector motion features from 0.22 to 0.52 (the
codec-guided strategies need vectors that follow the motion). Pretraining pilots (tube masks, mean
of the first / last 10 steps' loss; held-out on the validation clips; the blind value is ≈ 0.99):
1000 steps without gratings 1.014 / 0.987, held-out 0.987 (lr 3e-3 instead of 1e-3: 0.986, no
faster); with gratings 500 steps 1.016 / 0.989, held-out 0.989. So pretraining leaves the blind value
only a little within this budget. One seed end to end at these defaults (one thread, 7.6 min for
random init + tube, 131 s of it generating data with one worker): random init fine-tunes to 0.495
(curve 0.13, 0.13, 0.34, 0.39, 0.46, 0.50 at epochs 3-18; held-out tube-mask loss 1.018), the
tube-pretrained model (pretraining loss 1.017 / 0.986, held-out 0.986) stays at 0.125 with its
training loss flat at ln 8 for all 18 epochs. Why: pretraining grows the residual stream (the
mean-pooled encoder output of the validation clips has norm 62.9 after 1000 tube steps, 5.3 at
random init, the same ~7 % spread between clips), so at the same lr each step moves a pretrained
encoder's features about ten times less. Fine-tune lr, both models (2 threads, 18 epochs, final
(curve) top-1): 1e-3: random init 0.463, tube 0.125; 3e-3: random init 0.412 (still rising: 0.33,
0.40, 0.41 at epochs 12-18), tube 0.363 (0.23, 0.37, 0.36); 1e-2: random init 0.300, tube 0.105.
So 3e-3 is the one lr here at which both learn, and every model fine-tunes with it, for 21 epochs.
Both tube and the variable strategies may well end below random init at this size; the gate makes
each comparison ask that one of its two models is above chance. One frame's pixels are not
label-free in general: frame 0 is (probe 0.110), the middle frame is not (0.355: where the actor has
got to by then depends on its direction within a 64-px frame), so a model can beat chance without
motion, through positions; the per-strategy comparisons share that.

Commands (2 CPU threads, ``torch.set_num_threads(2)``; a budget plan is printed first, the time of
every phase at the end and in the results):

    python benchmarks/fidelity.py             # full: 2 seeds, ~37 min planned on 2 quiet CPU cores (limit 40)
    python benchmarks/fidelity.py --quick     # < 5 min: the same pipeline, small counts, fidelity_quick.*
    python benchmarks/fidelity.py --from_json benchmarks/results/fidelity.json   # re-render md + png

Writes ``benchmarks/results/fidelity.{json,md,png}`` (``fidelity_quick.*`` with ``--quick``). The
generated clips are cached under ``--cache_dir`` (default ``~/.cache/mgm_hf/fidelity_v3``); H.264
encodes are not bit-reproducible on a loaded machine (a few % of clips differ by compression noise),
so a rerun without the cache sees statistically equal but not identical pixels.

What the columns mean:

- *downstream* rows (JSON ``downstream``, one per strategy and seed): ``finetune_top1`` validation
  top-1 after the last fine-tuning epoch (``finetune_best_top1``: the best point of the curve, for
  reference only: it is selected on the validation set); ``linear_probe_top1`` / ``knn_top1``: the
  frozen probes on per-time-step features (``*_meanpool``: on mean-pooled features);
  ``heldout_loss``: norm-pix masked-reconstruction loss on the validation clips under the model's
  own masking (null for ``none``), ``heldout_loss_tube`` / ``heldout_loss_mgmae``: under the common
  tube / MGMAE masks (a blind predictor scores ≈ 0.99); ``pretrain_loss_first10`` /
  ``pretrain_loss_last10``: training loss, mean of the first / last 10 steps.
- *paired differences to tube*: per seed X − tube, their mean, the SE of the criterion and the
  verdict (losses: no verdict; lower is better there).
- *mask metrics* (JSON ``mask_metrics``), weight ``motion_energy`` (Σ|v|² per token of the exact
  motion: the camera pan, actor and distractors) or ``actor_pixels`` (the label-carrying object):
  *visible share* = the weight's share on visible tokens, mean over clips of the per-clip seed means
  ± SE over clips; *seed-only SE* = the part of that SE due to the masks' randomness; *position
  only* = the share a mask that ignores the clip but has the strategy's per-position visibility
  rate would get (its exact expectation); *guidance* = share − position only (negative: the strategy
  hides the weight beyond what its position pattern explains); *chance* = 1 − ρ.
- *power*: top-1 of linear probes on hand-made motion features (exact motion / H.264 vectors) and
  on the first / middle frame's pixels.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fidelity_data import ClipSet, first_per_class, load_split
from fidelity_power import power_checks
from fidelity_report import assemble, markdown, plot
from fidelity_scenes import CLASS_NAMES, NUM_CLASSES, SceneSpec
from fidelity_train import (
    encoder_features,
    finetune,
    heldout_loss,
    knn_correct,
    linear_probe_correct,
    motion_of,
    pretrain,
    tiny_model,
)
from mgm_hf.mask_metrics import masks_over_seeds, share_over_seeds, token_motion_energy
from mgm_hf.masking import build_masking_strategy

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GEOMETRY = {"num_frames": 8, "image_size": 64, "patch_size": 8, "tubelet_size": 2}  # the tiny preset
MASK_RATIO = 0.9
# name -> (masking config, motion source: "none", "vectors" = H.264 motion vectors, "exact" = rendered motion)
STRATEGIES: dict[str, tuple[dict[str, Any], str]] = {
    "random": ({"name": "random"}, "none"),
    "tube": ({"name": "tube"}, "none"),
    "smm": ({"name": "smm"}, "none"),
    "mgm": ({"name": "mgm"}, "vectors"),
    "mgmae": ({"name": "mgmae"}, "exact"),
    "mgmae-mv": ({"name": "mgmae"}, "vectors"),
}
COMMON_MASKS = ("tube", "mgmae")  # held-out loss under these for every model
FULL = {"seeds": 2, "pretrain_steps": 1000, "batch_size": 8, "finetune_batch_size": 16, "finetune_per_class": 40,
        "finetune_epochs": 21,
        "eval_every": 3, "probe_per_class": 40, "val_per_class": 50, "metric_seeds": 20, "metric_clips": 0,
        "workers": 2}
QUICK = {"seeds": 2, "pretrain_steps": 40, "batch_size": 8, "finetune_batch_size": 16, "finetune_per_class": 10,
         "finetune_epochs": 6,
         "eval_every": 3, "probe_per_class": 12, "val_per_class": 20, "metric_seeds": 20, "metric_clips": 64,
         "workers": 2}
# Seconds per unit on 2 quiet CPU threads (pretraining and fine-tuning per clip in a batch), measured in
# --quick runs and pilots (generation: one worker, 14 ms a clip; fine-tuning with augmentation: 0.022 s a
# clip on one thread, scaled by the 1.5-1.75x that two threads gave before); used for the plan only.
UNIT_SECONDS = {"generate_clip": 0.014, "pretrain_clip": 0.0066, "finetune_clip": 0.013, "forward_clip": 0.004,
                "heldout_clip": 0.002, "mask_clip_seed": 0.0004, "probes": 2.0, "power": 10.0}
FINETUNE_LR = 3e-3  # peak, every layer the same: the one lr of 1e-3, 3e-3, 1e-2 at which random init and tube both learnt
PHASES = ("data", "power", "mask_metrics", "pretrain", "evaluate", "finetune")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="< 5 minutes: small counts, writes fidelity_quick.*")
    for key, value in FULL.items():
        parser.add_argument(f"--{key}", type=int, default=None, help=f"full {value}, quick {QUICK[key]}")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated subset of the strategies")
    parser.add_argument("--cache_dir", default=str(Path.home() / ".cache" / "mgm_hf" / "fidelity_v3"),
                        help="generated clips are cached here ('' = no cache)")
    parser.add_argument("--work_dir", default=None, help="checkpoints and logs (default: a temporary folder)")
    parser.add_argument("--out", default=None, help="results stem (default benchmarks/results/fidelity[_quick])")
    parser.add_argument("--from_json", default=None, help="only re-render the .md and .png of an earlier run's JSON")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.strategies = [s for s in args.strategies.split(",") if s]
    unknown = sorted(set(args.strategies) - set(STRATEGIES))
    if unknown or "tube" not in args.strategies:
        parser.error(f"--strategies must name known strategies including tube; unknown {unknown}")
    return args


def budget_plan(args: argparse.Namespace) -> dict[str, float]:
    """Estimated seconds per phase from :data:`UNIT_SECONDS`."""
    u = UNIT_SECONDS
    pool = args.pretrain_steps * args.batch_size
    val, probe = args.val_per_class * NUM_CLASSES, args.probe_per_class * NUM_CLASSES
    models = (len(args.strategies) + 1) * args.seeds
    metric_clips = args.metric_clips or val
    finetune_clips = args.finetune_epochs * args.finetune_per_class * NUM_CLASSES
    evals = args.finetune_epochs // args.eval_every + 2
    return {
        "data": (pool + val + probe) * u["generate_clip"] / max(1, min(args.workers, 2)),
        "power": u["power"],
        "mask_metrics": len(args.strategies) * args.metric_seeds * metric_clips * u["mask_clip_seed"],
        "pretrain": len(args.strategies) * args.seeds * pool * u["pretrain_clip"],
        "evaluate": models * ((1 + len(COMMON_MASKS)) * val * u["heldout_clip"] + (val + probe) * u["forward_clip"]
                              + u["probes"]),
        "finetune": models * (finetune_clips * u["finetune_clip"] + evals * val * u["forward_clip"]),
    }


class PhaseTimer:
    """Accumulates wall time per phase."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - start


def mask_metrics(validation: ClipSet, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Seed-averaged visible share of motion energy and of the actor, per strategy, on validation clips."""
    count = args.metric_clips or len(validation)
    clips = validation.subset(np.arange(min(count, len(validation))))
    index = np.arange(len(clips))
    strategy0 = build_masking_strategy({"name": "tube", "mask_ratio": MASK_RATIO}, **GEOMETRY)
    weights = {"motion_energy": token_motion_energy(motion_of(clips, index, "exact"), strategy0.geometry),
               "actor_pixels": torch.as_tensor(clips.actor_pixels)}
    rows = []
    for name in args.strategies:
        config, source = STRATEGIES[name]
        strategy = build_masking_strategy({**config, "mask_ratio": MASK_RATIO}, **GEOMETRY)
        masks = masks_over_seeds(strategy, len(clips), args.metric_seeds, motion=motion_of(clips, index, source))
        for weight_name, weight in weights.items():
            summary = share_over_seeds(masks, weight).summary()
            rows.append({"strategy": name, "motion_source": source, "weight": weight_name, "mask_ratio": MASK_RATIO,
                         **summary})
            logging.info("mask metric %s", rows[-1])
    return rows


def evaluate_model(model: Any, name: str, probe_train: ClipSet, validation: ClipSet) -> dict[str, Any]:
    """Held-out losses and frozen probes of one model; per-clip correctness kept for paired SEs."""
    record: dict[str, Any] = {}
    for masks in (*COMMON_MASKS, name):
        if masks == "none" or f"heldout_loss_{masks}" in record:
            continue
        config, source = STRATEGIES[masks]
        strategy = build_masking_strategy({**config, "mask_ratio": MASK_RATIO}, **GEOMETRY)
        record[f"heldout_loss_{masks}"] = heldout_loss(model, strategy, source, validation)
    # Under the model's own masks (the same seeded masks as the common ones for tube and mgmae).
    if name == "none":
        record["heldout_loss"] = None
    elif name in COMMON_MASKS:
        record["heldout_loss"] = record[f"heldout_loss_{name}"]
    else:
        record["heldout_loss"] = record.pop(f"heldout_loss_{name}")
    train_f, val_f = encoder_features(model, probe_train), encoder_features(model, validation)
    y_train, y_val = torch.as_tensor(probe_train.labels), torch.as_tensor(validation.labels)
    for kind, suffix in (("time", ""), ("mean", "_meanpool")):
        knn = knn_correct(train_f[kind], y_train, val_f[kind], y_val).numpy()
        linear = linear_probe_correct(train_f[kind], y_train, val_f[kind], y_val, num_classes=NUM_CLASSES).numpy()
        record[f"knn_top1{suffix}"] = float(knn.mean())
        record[f"linear_probe_top1{suffix}"] = float(linear.mean())
        if not suffix:
            record["knn_correct"], record["linear_probe_correct"] = knn, linear
    return record


def run_one(name: str, seed: int, args: argparse.Namespace, data: dict[str, ClipSet], work: Path,
            timer: PhaseTimer) -> dict[str, Any]:
    """Pretrain (unless ``none``), evaluate and fine-tune one strategy at one seed."""
    record: dict[str, Any] = {"strategy": name, "seed": seed}
    masking = {"name": "tube", "mask_ratio": MASK_RATIO} if name == "none" else \
        {**STRATEGIES[name][0], "mask_ratio": MASK_RATIO}
    model = tiny_model(seed, masking)
    record["masking"] = None if name == "none" else model.masking_strategy.to_dict()
    record["motion_source"] = None if name == "none" else STRATEGIES[name][1]
    if name != "none":
        with timer("pretrain"):
            result = pretrain(model, model.masking_strategy, STRATEGIES[name][1], data["pretrain"], seed,
                              args.pretrain_steps, args.batch_size, warmup_steps=max(1, args.pretrain_steps // 10))
        losses = result.losses
        record.update(pretrain_s=result.seconds, pretrain_step_s=result.step_seconds,
                      pretrain_loss_first10=float(np.mean(losses[:10])), pretrain_loss_last10=float(np.mean(losses[-10:])),
                      pretrain_curve=[float(np.mean(losses[i : i + 10])) for i in range(0, len(losses), 10)])
    out = work / f"{name}-seed{seed}"
    model.save_pretrained(out)
    with timer("evaluate"):
        tick = time.perf_counter()
        record.update(evaluate_model(model, name, data["probe_train"], data["validation"]))
        record["evaluate_s"] = time.perf_counter() - tick
    with timer("finetune"):
        result = finetune(out, data["finetune"], data["validation"], seed, args.finetune_epochs, args.eval_every,
                          args.finetune_batch_size, dict(enumerate(CLASS_NAMES)), lr=FINETUNE_LR, layer_decay=None,
                          augment=True, log=logging.info)
    record.update(finetune_top1=result.final_top1, finetune_best_top1=result.best_top1,
                  finetune_curve=result.curve, finetune_correct=result.correct, finetune_s=result.seconds,
                  finetune_step_s=result.step_seconds)
    printable = {k: v for k, v in record.items() if not k.endswith(("_correct", "_curve"))}
    logging.info("run %s", printable)
    with open(work / "runs.jsonl", "a") as f:
        f.write(json.dumps({k: v for k, v in record.items() if not k.endswith("_correct")}) + "\n")
    return record


def print_plan(plan: dict[str, float], args: argparse.Namespace) -> None:
    models = (len(args.strategies) + 1) * args.seeds
    print(f"Budget plan ({len(args.strategies)} strategies × {args.seeds} seeds + random init = {models} models; "
          f"{args.pretrain_steps} pretraining steps of {args.batch_size}; fine-tune {args.finetune_epochs} epochs on "
          f"{args.finetune_per_class}/class; {args.val_per_class * NUM_CLASSES} validation clips):")
    for phase, seconds in plan.items():
        print(f"  {phase:<13} {seconds:7.0f} s")
    print(f"  {'total':<13} {sum(plan.values()):7.0f} s = {sum(plan.values()) / 60:.1f} min", flush=True)


def write_results(result: dict[str, Any], stem: Path) -> str:
    columns = __doc__.split("What the columns mean:")[1]
    text = markdown(result, columns)
    stem.with_suffix(".md").write_text(text)
    plot(result, stem.with_suffix(".png"))
    return text


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        print(write_results(result, Path(args.from_json).with_suffix("")))
        return
    torch.set_num_threads(2)
    started = time.perf_counter()
    timer = PhaseTimer()
    plan = budget_plan(args)
    print_plan(plan, args)
    stem = Path(args.out) if args.out else RESULTS / ("fidelity_quick" if args.quick else "fidelity")
    stem.parent.mkdir(parents=True, exist_ok=True)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="mgm_fidelity_v3_"))
    work.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache_dir) if args.cache_dir else None
    spec = SceneSpec(size=GEOMETRY["image_size"], num_frames=GEOMETRY["num_frames"])
    geometry = build_masking_strategy({"name": "tube", "mask_ratio": MASK_RATIO}, **GEOMETRY).geometry

    with timer("data"):
        data = {
            "pretrain": load_split("pretrain", args.pretrain_steps * args.batch_size, spec, geometry, cache, args.workers),
            "probe_train": load_split("probe_train", args.probe_per_class * NUM_CLASSES, spec, geometry, cache,
                                      args.workers),
            "validation": load_split("validation", args.val_per_class * NUM_CLASSES, spec, geometry, cache,
                                     args.workers),
        }
        data["finetune"] = data["probe_train"].subset(first_per_class(data["probe_train"].labels,
                                                                      args.finetune_per_class))
    logging.info("data ready in %.0f s: %s", timer.seconds["data"], {k: len(v) for k, v in data.items()})
    with timer("power"):
        power = power_checks(data["probe_train"], data["validation"])
    logging.info("power checks %s", power)
    with timer("mask_metrics"):
        metrics = mask_metrics(data["validation"], args)

    runs = []
    for seed in range(args.seeds):
        for name in ("none", *args.strategies):
            runs.append(run_one(name, seed, args, data, work, timer))
            logging.info("elapsed %.1f min", (time.perf_counter() - started) / 60)

    meta = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "command": "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "settings": {k: getattr(args, k) for k in FULL} | {"strategies": args.strategies, "mask_ratio": MASK_RATIO},
        "work_dir": str(work), "plan": plan,
    }
    dataset = {
        "description": (f"v3 generated clips ({spec.num_frames} × {spec.size}², H.264): panning camera, one "
                        f"labelled actor, 1–2 distractors; classes {list(CLASS_NAMES)}"),
        "spec": asdict(spec),
        "counts": {k: len(v) for k, v in data.items()},
    }
    meta["phases"] = dict(timer.seconds)
    meta["wall_s"] = time.perf_counter() - started
    result = assemble(meta, dataset, NUM_CLASSES, len(data["validation"]), power, metrics, runs)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1, default=_json_default))
    text = write_results(result, stem)
    print(text)
    print("Phase times (planned → actual, s): " + ", ".join(
        f"{p} {plan.get(p, 0):.0f} → {s:.0f}" for p, s in timer.seconds.items()))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    main()
