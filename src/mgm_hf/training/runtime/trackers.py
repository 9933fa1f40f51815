"""Experiment trackers (``--report_to``) that say what they track.

Accelerate drops a requested tracker whose package is missing without a word (a debug line), so a
run would track nothing silently. Here an explicitly requested tracker that is not installed is an
error naming the package; ``none`` is said in the log; and the run logs where each tracker writes.

The default, ``tensorboard``, works with the plain install: mgm_hf depends on the small
``tensorboardX`` writer, which Accelerate's TensorBoard tracker uses when the full ``tensorboard``
package (needed only to *view* the logs: ``pip install tensorboard``) is absent.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from accelerate.tracking import LOGGER_TYPE_TO_CLASS, get_available_trackers

logger = logging.getLogger(__name__)

REPORT_TO_CHOICES = [*sorted(LOGGER_TYPE_TO_CLASS), "all", "none"]
# pip package of each tracker, for the error message.
_PACKAGES = {"tensorboard": "tensorboardX", "comet_ml": "comet-ml"}


class TrackerUnavailableError(ImportError):
    """``--report_to`` names a tracker whose package is not installed."""


def resolve_report_to(report_to: str) -> list[str] | None:
    """The trackers to pass to ``Accelerator(log_with=...)``: None for ``none``; every installed one
    for ``all``; otherwise ``[report_to]``, which must be installed (else
    :class:`TrackerUnavailableError`)."""
    if report_to == "none":
        return None
    available = [str(t) for t in get_available_trackers()]
    if report_to == "all":
        return available or None
    if report_to not in LOGGER_TYPE_TO_CLASS:
        raise ValueError(f"--report_to {report_to!r} is not a tracker Accelerate knows: {REPORT_TO_CHOICES}.")
    if report_to not in available:
        package = _PACKAGES.get(report_to, report_to)
        raise TrackerUnavailableError(
            f"--report_to {report_to}: the {package!r} package is not installed, so nothing would be tracked. "
            f"Install it (pip install {package}) or pass --report_to none (the losses still go to "
            "<output_dir>/train_log.jsonl)."
        )
    return [report_to]


def tracker_config(args: argparse.Namespace) -> dict[str, Any]:
    """``vars(args)`` reduced to what trackers accept (int, float, str, bool)."""
    import json

    out = {}
    for key, value in vars(args).items():
        if isinstance(value, (int, float, str, bool)):
            out[key] = value
        elif value is not None:
            out[key] = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return out


def start_trackers(accelerator: Accelerator, project: str, args: argparse.Namespace, start_step: int = 0) -> None:
    """``init_trackers`` with the run's arguments, then one log line per tracker saying where it writes
    (or that nothing is tracked). After a resume (``start_step`` > 0) TensorBoard purges what the
    interrupted run logged after ``start_step``, so no step shows twice."""
    init_kwargs = {"tensorboard": {"purge_step": start_step + 1}} if start_step > 0 else {}
    accelerator.init_trackers(project, config=tracker_config(args), init_kwargs=init_kwargs)
    if not accelerator.is_main_process:
        return
    if not accelerator.trackers:
        logger.info("No experiment tracker (--report_to %s): the losses are in %s.", args.report_to,
                    Path(args.output_dir) / "train_log.jsonl")
    for tracker in accelerator.trackers:
        if tracker.name == "tensorboard":
            folder = Path(accelerator.logging_dir)
            viewer = "" if importlib.util.find_spec("tensorboard") else "pip install tensorboard, then "
            logger.info("Tracking with TensorBoard in %s (to view: %stensorboard --logdir %s).",
                        folder / project, viewer, folder)
        else:
            logger.info("Tracking with %s (project %r).", tracker.name, project)


def image_trackers(trackers: list[Any]) -> tuple[list[Any], list[Any]]:
    """``(trackers that take images, trackers that do not)``: Accelerate gives only some trackers a
    ``log_images``."""
    takes = [t for t in trackers if hasattr(t, "log_images")]
    return takes, [t for t in trackers if not hasattr(t, "log_images")]


__all__ = ["REPORT_TO_CHOICES", "TrackerUnavailableError", "image_trackers", "resolve_report_to", "start_trackers",
           "tracker_config"]
