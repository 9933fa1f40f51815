"""One run per output folder: a script refuses to write into a folder that already holds a run,
unless it resumes that run (``--resume_from_checkpoint``) or replaces it (``--overwrite_output_dir``).

Training scripts own the whole folder: any earlier run there stops them, and ``--overwrite_output_dir``
deletes that run's files first. Scripts that only add result files (evaluation, linear probe) are
stopped only by their own result files, and overwrite only those, so they can never delete a model.

Without this, a second run into the same folder overwrites the first one's model and appends its
losses to the first one's ``train_log.jsonl``, and ``--resume_from_checkpoint latest`` could later pick
up a stale checkpoint of the first run.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from accelerate import Accelerator

logger = logging.getLogger(__name__)

# What the example scripts write into --output_dir. Any of them present means a run is there.
RUN_FILES = ("model.safetensors", "config.json", "training_args.json", "train_log.jsonl", "all_results.json",
             "eval_results.json", "probe_results.json", "linear_head.safetensors")
# Also written by the scripts, removed with --overwrite_output_dir but not a sign of a run on their own.
RUN_EXTRAS = ("preprocessor_config.json", "README.md")
RUN_FOLDERS = ("pictures", "rank_logs", "logs")
RUN_FOLDER_PATTERNS = ("checkpoint-*", ".tmp-checkpoint-*", ".old-checkpoint-*", ".del-checkpoint-*")


class OutputDirInUseError(FileExistsError):
    """``--output_dir`` holds a run and the script was asked neither to resume nor to overwrite it."""


def run_outputs(output_dir: str | Path) -> list[Path]:
    """The run files and checkpoints in ``output_dir`` (what a second run would overwrite), sorted."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    found = [folder / name for name in RUN_FILES if (folder / name).exists()]
    found += [p for p in folder.glob("checkpoint-*") if p.is_dir()]
    return sorted(found)


def check_output_dir(output_dir: str | Path, *, overwrite: bool, resuming: bool = False,
                     writes: tuple[str, ...] | None = None) -> None:
    """Raises :class:`OutputDirInUseError` when ``output_dir`` holds a run (or, with ``writes``, one of
    those result files) and neither ``overwrite`` nor ``resuming`` is set; the message names what is
    there and the ways out."""
    if overwrite and resuming:
        raise ValueError("--overwrite_output_dir and --resume_from_checkpoint contradict each other: "
                         "resuming continues the run in --output_dir, overwriting deletes it.")
    if writes is None:
        found = run_outputs(output_dir)
    else:
        found = sorted(Path(output_dir) / name for name in writes if (Path(output_dir) / name).exists())
    if not found or overwrite or resuming:
        return
    names = ", ".join(p.name for p in found[:6]) + (", ..." if len(found) > 6 else "")
    checkpoints = [p for p in found if p.name.startswith("checkpoint-")]
    resume_hint = " --resume_from_checkpoint latest to continue it," if checkpoints else ""
    raise OutputDirInUseError(
        f"{output_dir} already holds a run ({names}); this run would overwrite it. Pass another "
        f"--output_dir,{resume_hint} or --overwrite_output_dir to replace it."
    )


def clear_run_outputs(output_dir: str | Path) -> list[Path]:
    """Deletes what the scripts write into ``output_dir`` (run files, checkpoints, pictures, logs,
    tracker logs), nothing else; returns what was deleted."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    doomed = [folder / name for name in (*RUN_FILES, *RUN_EXTRAS, *RUN_FOLDERS) if (folder / name).exists()]
    doomed += [p for pattern in RUN_FOLDER_PATTERNS for p in folder.glob(pattern)]
    for path in sorted(doomed):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return sorted(doomed)


def prepare_output_dir(accelerator: Accelerator | None, output_dir: str | Path, *, overwrite: bool, resuming: bool = False,
                       writes: tuple[str, ...] | None = None) -> None:
    """Every process checks ``output_dir`` (so all of them stop with the same error); a training
    script (``writes=None``) with ``overwrite`` then has the main process clear the old run; a script
    that names the result files it ``writes`` just overwrites those. The folder exists afterwards.
    Call it before anything is written into the folder; ``accelerator=None``: a single process."""
    check_output_dir(output_dir, overwrite=overwrite, resuming=resuming, writes=writes)
    if accelerator is not None:
        accelerator.wait_for_everyone()  # nobody writes before every process has looked
    if accelerator is None or accelerator.is_main_process:
        if overwrite and writes is None:
            removed = clear_run_outputs(output_dir)
            if removed:
                logger.warning("--overwrite_output_dir: removed the earlier run in %s (%s).", output_dir,
                               ", ".join(p.name for p in removed))
        Path(output_dir).mkdir(parents=True, exist_ok=True)
    if accelerator is not None:
        accelerator.wait_for_everyone()


__all__ = ["OutputDirInUseError", "check_output_dir", "clear_run_outputs", "prepare_output_dir", "run_outputs"]
