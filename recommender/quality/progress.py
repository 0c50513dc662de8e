"""Progress of an evaluation's stages, reported as ``progress(stage, done, total)`` (the admin's
Insights page shows it while a run is under way)."""

from __future__ import annotations

from collections.abc import Callable

StageProgress = Callable[[str, int, int], None]


def stage_counter(progress: StageProgress | None, stage: str, total: int):
    """A ``step(n)`` that reports ``n`` more done in ``stage``; None without ``progress``."""
    if progress is None:
        return None
    done = 0
    progress(stage, done, total)

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(stage, done, total)

    return step
