"""Counting, per process, the videos that were skipped (their file cannot be read: logged, and past a
share the run stops) and those that were upscaled (smaller than the crop: counted, first one logged)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = ["FailureTracker", "TooManyFailuresError"]

logger = logging.getLogger(__name__)


class TooManyFailuresError(RuntimeError):
    """More than ``max_failure_rate`` of the videos read so far failed (after ``min_attempts``)."""


@dataclass
class FailureTracker:
    """Counts attempts, failures and upscaled videos of one process (each DataLoader worker keeps its
    own copy, so the share is checked per worker, i.e. over the videos that worker read).

    Attributes:
        max_failure_rate: the largest tolerated share of failed videos, in [0, 1].
        min_attempts: the share is only checked after this many videos, so one early bad file does
            not stop a run.
        attempts: videos tried so far.
        failures: ``(path, reason)`` of every failed video, in order.
        num_upscaled: videos read so far whose frames were smaller than the output crop (upscaled).
    """

    max_failure_rate: float = 0.05
    min_attempts: int = 20
    attempts: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    num_upscaled: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_failure_rate <= 1.0:
            raise ValueError(f"max_failure_rate must lie in [0, 1], got {self.max_failure_rate}.")
        if self.min_attempts < 1:
            raise ValueError(f"min_attempts must be >= 1, got {self.min_attempts}.")

    @property
    def num_failures(self) -> int:
        return len(self.failures)

    @property
    def failure_rate(self) -> float:
        return self.num_failures / self.attempts if self.attempts else 0.0

    def success(self) -> None:
        self.attempts += 1
        self.check()

    def failure(self, path: str, reason: str) -> None:
        """Logs the skipped video, then raises :class:`TooManyFailuresError` if the share is exceeded."""
        self.attempts += 1
        self.failures.append((str(path), str(reason)))
        logger.warning(
            "Skipping video %s: %s (%d of %d videos failed so far)", path, reason, self.num_failures, self.attempts
        )
        self.check()

    def record_upscaled(self, path: str, frame_hw: tuple[int, int], output_hw: tuple[int, int]) -> None:
        """Counts a video (already counted as read) whose ``frame_hw`` frames were upscaled to the
        ``output_hw`` crop; the first one of this process is logged as a warning."""
        self.num_upscaled += 1
        if self.num_upscaled == 1:
            logger.warning(
                "Video %s is %d×%d pixels, smaller than the %d×%d crop: it was upscaled (its pixels are "
                "interpolated). Further upscaled videos are counted, not logged: %s (counts of this "
                "process; each DataLoader worker counts its own videos).",
                path, *frame_hw, *output_hw, self.summary(),
            )

    def summary(self) -> str:
        """One line: videos read, skipped and upscaled so far in this process."""
        return (
            f"{self.attempts} videos read: {self.num_failures} skipped (file unreadable), "
            f"{self.num_upscaled} upscaled (smaller than the crop)"
        )

    def check(self) -> None:
        if self.attempts >= self.min_attempts and self.failure_rate > self.max_failure_rate:
            listed = "\n  ".join(f"{p}: {r}" for p, r in self.failures[:10])
            raise TooManyFailuresError(
                f"{self.num_failures} of {self.attempts} videos failed ({self.failure_rate:.1%} > "
                f"max_failure_rate {self.max_failure_rate:.1%}). First failures:\n  {listed}\n"
                "Fix or remove these files (e.g. `mgm-hf prepare` re-encodes a folder and verifies every "
                "output), or raise max_failure_rate (--max_failure_rate in the example scripts)."
            )
