"""Fidelity benchmark v3: paired comparisons, the pre-registered verdict, JSON, markdown and plot.

Pure functions of the run's records, so the schema and the decision rule are testable without
training anything.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

SUPPORT_CRITERION = (
    "Primary outcome: fine-tune top-1 on the validation clips. Strategy X beats tube when the paired "
    "difference X - tube (same seed: same initial weights, same pretraining clips in the same order, same "
    "fine-tuning order) is > 0 for every seed AND its mean over seeds is > 2 standard errors, with "
    "SE = max(SE over seeds of the per-seed differences, SE of the mean per-clip paired correctness "
    "difference over all (seed, validation clip) pairs). 'worse than tube' is the mirror image; anything else "
    "is 'no detectable difference'. The papers' claim (motion-guided masking beats tube) is supported here "
    "if mgm or mgmae beats tube; a null result (neither does) is a valid outcome. The same rule is applied "
    "to linear-probe and k-NN top-1 (per-time-step features) as secondary outcomes. Five comparisons per "
    "outcome, no multiplicity correction: read a single 'beats' near the 2 SE line with caution. Power gate: "
    "a comparison X vs tube gets a verdict only if X or tube has a mean top-1 over seeds above chance by more "
    "than 3 binomial SEs (sqrt(c (1 - c) / (validation clips × seeds)); 3, not 2: the best of 7 models at "
    "chance passes 2 SEs 15 % of the time); otherwise its verdict is 'no power (both at chance)': two models "
    "at chance could not have shown an effect, which is not evidence against it. The labels themselves are learnable from motion when the "
    "motion-feature probe (see 'power') is far above chance."
)
NO_POWER = "no power (both at chance)"
ACCURACY_METRICS = ("finetune_top1", "linear_probe_top1", "knn_top1")
DOWNSTREAM_KEYS = ("strategy", "seed", "finetune_top1", "knn_top1", "linear_probe_top1", "heldout_loss")


def paired_difference(values: dict[int, float], reference: dict[int, float],
                      correct: dict[int, np.ndarray] | None = None,
                      reference_correct: dict[int, np.ndarray] | None = None) -> dict[str, Any]:
    """Paired difference ``values - reference`` over the seeds both have.

    Args:
        values, reference: seed -> metric.
        correct, reference_correct: seed -> (N,) bool per validation clip, for the clip-level SE.

    Returns:
        ``{"seeds", "per_seed", "mean", "se_seeds", "se_clips", "se", "verdict"}``; ``se`` is the
        larger of the available SEs; ``verdict`` as :data:`SUPPORT_CRITERION` says.
    """
    seeds = sorted(set(values) & set(reference))
    if not seeds:
        raise ValueError("no seed in common")
    diffs = np.array([values[s] - reference[s] for s in seeds], np.float64)
    se_seeds = float(diffs.std(ddof=1) / math.sqrt(len(diffs))) if len(diffs) > 1 else float("nan")
    se_clips = float("nan")
    if correct is not None and reference_correct is not None:
        per_clip = np.concatenate([correct[s].astype(np.float64) - reference_correct[s].astype(np.float64)
                                   for s in seeds])
        se_clips = float(per_clip.std(ddof=1) / math.sqrt(len(per_clip)))
    available = [x for x in (se_seeds, se_clips) if not math.isnan(x)]
    se = max(available) if available else float("nan")
    mean = float(diffs.mean())
    if not math.isnan(se) and bool((diffs > 0).all()) and mean > 2 * se:
        verdict = "beats tube"
    elif not math.isnan(se) and bool((diffs < 0).all()) and mean < -2 * se:
        verdict = "worse than tube"
    else:
        verdict = "no detectable difference"
    return {"seeds": seeds, "per_seed": diffs.tolist(), "mean": mean, "se_seeds": se_seeds, "se_clips": se_clips,
            "se": se, "verdict": verdict}


def above_chance(runs: list[dict[str, Any]], strategy: str, metric: str, chance: float, num_validation: int) -> bool:
    """True when ``strategy``'s mean ``metric`` over its seeds exceeds ``chance`` by more than 3 binomial
    standard errors, ``sqrt(chance (1 - chance) / (num_validation × seeds))`` (the power gate of
    :data:`SUPPORT_CRITERION`)."""
    values = [r[metric] for r in runs if r["strategy"] == strategy and r.get(metric) is not None]
    bound = 3 * math.sqrt(chance * (1 - chance) / (num_validation * max(len(values), 1)))
    return bool(values) and float(np.mean(values)) > chance + bound


def paired_vs_tube(runs: list[dict[str, Any]], chance: float, num_validation: int) -> list[dict[str, Any]]:
    """Every strategy (and random init) against tube, for each accuracy metric and the losses under
    the common masks (no verdict for losses; accuracy verdicts only past the power gate: the strategy or
    tube above chance). ``runs`` hold the downstream keys plus per-clip ``"<metric>_correct"`` arrays
    (optional)."""
    tube = {r["seed"]: r for r in runs if r["strategy"] == "tube"}
    out = []
    for name in dict.fromkeys(r["strategy"] for r in runs):
        if name == "tube":
            continue
        mine = {r["seed"]: r for r in runs if r["strategy"] == name}
        for metric in (*ACCURACY_METRICS, "heldout_loss_tube", "heldout_loss_mgmae"):
            have = {s: r[metric] for s, r in mine.items() if r.get(metric) is not None}
            ref = {s: r[metric] for s, r in tube.items() if r.get(metric) is not None}
            if not set(have) & set(ref):
                continue
            key = f"{metric.removesuffix('_top1')}_correct"
            correct = {s: r[key] for s, r in mine.items() if r.get(key) is not None} or None
            ref_correct = {s: r[key] for s, r in tube.items() if r.get(key) is not None} or None
            row = {"strategy": name, "metric": metric, **paired_difference(have, ref, correct, ref_correct)}
            if metric not in ACCURACY_METRICS:
                row["verdict"] = None
            elif not (above_chance(runs, name, metric, chance, num_validation)
                      or above_chance(runs, "tube", metric, chance, num_validation)):
                row["verdict"] = NO_POWER
            out.append(row)
    return out


def downstream_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The JSON's ``downstream`` list: the required keys first, then every JSON-ready extra (per-clip
    correctness arrays are left out)."""
    rows = []
    for r in runs:
        row = {k: r.get(k) for k in DOWNSTREAM_KEYS}
        row.update({k: v for k, v in r.items() if k not in row and not k.endswith("_correct")})
        rows.append(row)
    return rows


def assemble(meta: dict[str, Any], dataset: dict[str, Any], num_classes: int, num_validation: int,
             power: dict[str, float], mask_metrics: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The complete JSON document of a run."""
    return {
        "version": 3,
        "meta": meta,
        "dataset": dataset,
        "chance": 1.0 / num_classes,
        "num_validation_clips": num_validation,
        "support_criterion": SUPPORT_CRITERION,
        "power": power,
        "mask_metrics": mask_metrics,
        "downstream": downstream_rows(runs),
        "paired_vs_tube": paired_vs_tube(runs, 1.0 / num_classes, num_validation),
    }


# ------------------------------------------------------------------------------------------ markdown
def _mean_sd(values: list[float], digits: int = 3, scale: float = 1.0) -> str:
    values = [v * scale for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def markdown(result: dict[str, Any], columns_doc: str) -> str:
    """The results page: settings, the pre-registered criterion, power checks, tables."""
    meta = result["meta"]
    chance = result["chance"]
    lines = [
        "# Fidelity benchmark v3 (small scale, CPU)", "",
        f"- date: {meta['date']}; machine: {meta['platform']}, {meta['cpu_count']} CPUs, torch "
        f"{meta['torch']} ({meta['torch_threads']} threads); wall time {meta['wall_s'] / 60:.1f} min",
        f"- command: `{meta['command']}`",
        f"- settings: {meta['settings']}",
        f"- data: {result['dataset']['description']}",
        f"- chance (top-1 of guessing): {chance:.3f}; validation clips: {result['num_validation_clips']}", "",
        "## Pre-registered support criterion (written before the run)", "", result["support_criterion"], "",
        "## Power checks (no pretrained model)", "",
        "| check | top-1 |", "|---|---|",
    ]
    lines += [f"| {k} | {v:.3f} |" for k, v in result["power"].items()]
    lines += ["", "## Downstream (mean ± sd over seeds)", "",
              "| strategy | seeds | fine-tune top-1 | linear probe (time) | k-NN (time) | linear probe (mean) | "
              "k-NN (mean) | held-out loss own | held-out loss tube | held-out loss mgmae |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    rows = result["downstream"]
    for name in dict.fromkeys(r["strategy"] for r in rows):
        group = [r for r in rows if r["strategy"] == name]
        cells = [_mean_sd([r.get(k) for r in group], 4 if "loss" in k else 3) for k in (
            "finetune_top1", "linear_probe_top1", "knn_top1", "linear_probe_top1_meanpool", "knn_top1_meanpool",
            "heldout_loss", "heldout_loss_tube", "heldout_loss_mgmae")]
        lines.append(f"| {name} | {len(group)} | " + " | ".join(cells) + " |")
    lines += ["", "## Paired differences to tube (same seed)", "",
              "| strategy | metric | per seed | mean | SE | verdict |", "|---|---|---|---|---|---|"]
    for p in result["paired_vs_tube"]:
        per_seed = ", ".join(f"{d:+.3f}" for d in p["per_seed"])
        lines.append(f"| {p['strategy']} | {p['metric']} | {per_seed} | {p['mean']:+.4f} | {p['se']:.4f} | "
                     f"{p['verdict'] or '–'} |")
    lines += ["", "## Where the masks fall (validation clips, mean over seeds ± SE over clips)", "",
              "| strategy | motion given | weight | visible share | seed-only SE | position only | guidance "
              "(share − position) | chance | seeds | clips (left out) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for m in result["mask_metrics"]:
        lines.append(
            f"| {m['strategy']} | {m['motion_source']} | {m['weight']} | {m['share']:.4f} ± {m['share_se']:.4f} | "
            f"{m['share_seed_se']:.4f} | {m['position_only']:.4f} | {m['guidance']:+.4f} ± {m['guidance_se']:.4f} | "
            f"{m['chance']:.4f} | {m['num_seeds']} | {m['num_clips']} ({m['num_left_out']}) |")
    lines += ["", "## Time per phase", "", "| phase | planned s | actual s |", "|---|---|---|"]
    for phase, actual in meta["phases"].items():
        planned = meta["plan"].get(phase)
        lines.append(f"| {phase} | {'–' if planned is None else f'{planned:.0f}'} | {actual:.0f} |")
    lines += ["", "## What the columns mean", "", columns_doc.strip(), ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- plot
def plot(result: dict[str, Any], path: Path) -> None:
    """Four panels: fine-tune top-1, probes, mask placement, fine-tune validation curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["downstream"]
    names = list(dict.fromkeys(r["strategy"] for r in rows))
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    for ax, metrics, title in (
        (axes[0, 0], ("finetune_top1",), "fine-tune top-1 (dots: seeds)"),
        (axes[0, 1], ("linear_probe_top1", "knn_top1"), "frozen probes, per-time-step features"),
    ):
        width = 0.8 / len(metrics)
        for j, metric in enumerate(metrics):
            for i, name in enumerate(names):
                values = [r[metric] for r in rows if r["strategy"] == name and r.get(metric) is not None]
                x = i + (j - (len(metrics) - 1) / 2) * width
                if values:
                    ax.bar(x, np.mean(values), width, color=f"C{j}", alpha=0.6, label=metric if i == 0 else None)
                    ax.plot([x] * len(values), values, "k.", ms=5)
        ax.axhline(result["chance"], color="grey", ls="--", lw=1, label="chance")
        ax.set_xticks(range(len(names)), names, rotation=20)
        ax.set_title(title)
        ax.legend(fontsize=8)
    ax = axes[1, 0]
    metrics = [m for m in result["mask_metrics"] if m["weight"] == "motion_energy"]
    labels = [f"{m['strategy']}" for m in metrics]
    ax.errorbar(range(len(metrics)), [m["share"] for m in metrics], yerr=[2 * m["share_se"] for m in metrics],
                fmt="o", label="visible motion share ± 2 SE")
    ax.plot(range(len(metrics)), [m["position_only"] for m in metrics], "s", mfc="none", label="position only")
    actor = {m["strategy"]: m for m in result["mask_metrics"] if m["weight"] == "actor_pixels"}
    ax.plot(range(len(metrics)), [actor[m["strategy"]]["share"] if m["strategy"] in actor else np.nan
                                  for m in metrics], "^", label="visible actor share")
    ax.plot(range(len(metrics)), [m["chance"] for m in metrics], "_", color="grey", ms=25, label="chance 1 − ρ")
    ax.set_xticks(range(len(metrics)), labels, rotation=20)
    ax.set_title("where the masks fall (validation clips, seed means)")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    for i, name in enumerate(names):
        curves = [r["finetune_curve"] for r in rows if r["strategy"] == name and r.get("finetune_curve")]
        if not curves:
            continue
        epochs = [c["epoch"] for c in curves[0]]
        mean = np.mean([[c["val_top1"] for c in curve] for curve in curves], axis=0)
        ax.plot(epochs, mean, "-o", ms=3, color=f"C{i}", label=name)
    ax.axhline(result["chance"], color="grey", ls="--", lw=1)
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel("validation top-1 (mean over seeds)")
    ax.set_title("fine-tuning validation curves")
    ax.legend(fontsize=8)
    fig.suptitle(f"Fidelity v3 — {result['meta']['date']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["ACCURACY_METRICS", "DOWNSTREAM_KEYS", "NO_POWER", "SUPPORT_CRITERION", "above_chance", "assemble",
           "downstream_rows", "markdown", "paired_difference", "paired_vs_tube", "plot"]
