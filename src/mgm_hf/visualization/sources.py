"""Where the clip comes from: a file, ``builtin:<index>`` (the built-in motion dataset), or a
``load_video_dataset`` sample (name, root, split, index)."""

from __future__ import annotations

from pathlib import Path

BUILTIN_PREFIX = "builtin:"


def resolve_video(video: str | Path | None = None, *, builtin: bool = False, dataset: str | None = None,
                  root: str | Path | None = None, split: str = "train", index: int = 0) -> tuple[str, bool]:
    """Returns ``(path, is_builtin)`` of the video to draw.

    ``video`` may be a file or ``"builtin:<i>"``; ``builtin=True`` (or no video and no dataset) picks
    video ``index`` of the built-in dataset's ``split``; ``dataset`` + ``root`` picks video ``index``
    of that split through :func:`mgm_hf.data.load_video_dataset`.
    """
    from mgm_hf.data import list_videos
    from mgm_hf.data.builtin_motion import builtin_motion_dataset

    if video is not None and str(video).startswith(BUILTIN_PREFIX):
        index, builtin = int(str(video)[len(BUILTIN_PREFIX):] or index), True
    elif video is not None:
        if builtin or dataset is not None:
            raise ValueError("Give either a VIDEO file or --builtin / --dataset, not both.")
        return str(video), False
    if dataset is not None and not builtin:
        if root is None:
            raise ValueError(f"--dataset {dataset} needs --root.")
        items, _ = list_videos(dataset, str(root), split)
        return _pick(items, index, f"{dataset} {split}"), False
    items, _ = list_videos("videofolder", str(builtin_motion_dataset()), split)
    return _pick(items, index, f"built-in {split}"), True


def _pick(items: list, index: int, what: str) -> str:
    if not -len(items) <= index < len(items):
        raise IndexError(f"index {index} is out of range: the {what} split has {len(items)} videos.")
    return items[index].path


__all__ = ["BUILTIN_PREFIX", "resolve_video"]
