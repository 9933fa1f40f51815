"""Counting videos that fail to decode: each one is logged and skipped; past a share, the run stops."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = ["FailureTracker", "TooManyFailuresError"]

logger = logging.getLogger(__name__)


class TooManyFailuresError(RuntimeError):
    """More than ``max_failure_rate`` of the videos read so far failed (after ``min_attempts``)."""


@dataclass
class FailureTracker:
    """Counts attempts and failures of one process (each DataLoader worker keeps its own copy, so the
    share is checked per worker, i.e. over the videos that worker read).

    Attributes:
        max_failure_rate: the largest tolerated share of failed videos, in [0, 1].
        min_attempts: the share is only checked after this many videos, so one early bad file does
            not stop a run.
        attempts: videos tried so far.
        failures: ``(path, reason)`` of every failed video, in order.
    """

    max_failure_rate: float = 0.05
    min_attempts: int = 20
    attempts: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

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

    def check(self) -> None:
        if self.attempts >= self.min_attempts and self.failure_rate > self.max_failure_rate:
            listed = "\n  ".join(f"{p}: {r}" for p, r in self.failures[:10])
            raise TooManyFailuresError(
                f"{self.num_failures} of {self.attempts} videos failed ({self.failure_rate:.1%} > "
                f"max_failure_rate {self.max_failure_rate:.1%}). First failures:\n  {listed}\n"
                "Fix or remove these files (e.g. `mgm-hf prepare` re-encodes a folder and verifies every "
                "output), or raise max_failure_rate."
            )
