"""Reading clips must leave the process safe to fork (DataLoader workers use the "fork" context).

Two regressions are covered. The motion-vector search once toggled ``cv2.setNumThreads`` around every
frame, restarting OpenCV's thread pool. And PyAV's cached ``frame.side_data`` is a reference cycle
(frame <-> container) that kept every frame read for its vectors, and with it the decoder and its
slice threads, alive until the cyclic GC ran: each read leaked 8 threads, and a forked child
deadlocked when its own GC freed the inherited decoder and waited for threads the child does not
have (seen as a child stuck in ``np.any`` or in ``cv2.getNumThreads()``, and as DataLoader fork
workers hanging). The tests fork many times after real reads in the parent and give every child a
deadline, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import time

import cv2
import numpy as np
import pytest

from mgm_hf.video import read_clip, write_moving_square_video

ROUNDS = 16  # the old hazard hung about 1 fork in 10: 16 rounds catch it with high probability
DEADLINE_S = 3.0  # per child; a healthy child needs ~0.1 s


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    # B-frames and several references, so the reference-distance search runs in both directions.
    return write_moving_square_video(
        tmp_path_factory.mktemp("fork") / "square.mp4",
        options={"bf": "2", "g": "12", "refs": "3", "threads": "1"},
        num_frames=24,
        size=(64, 96),
        square_size=24,
        velocity=(3.0, 1.0),
        start=(4, 16),
    )


def _child_work(path: str) -> None:
    """What a DataLoader worker does: OpenCV calls and clip reads with motion vectors."""
    cv2.getNumThreads()
    clip = read_clip(path, num_frames=4, frame_stride=2, start_frame=2, motion="motion_vectors")
    assert clip.motion is not None and np.isfinite(clip.motion).all()
    cv2.getNumThreads()


def _child_entry(path: str, queue: mp.Queue) -> None:
    _child_work(path)
    queue.put("ok")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_os_fork_after_read_clip_does_not_deadlock(video):
    path = str(video.path)
    for round_ in range(ROUNDS):
        read_clip(path, num_frames=4, frame_stride=2, start_frame=round_ % 8, motion="motion_vectors")
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            code = 1
            try:
                _child_work(path)
                code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + DEADLINE_S
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.005)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"forked child deadlocked after read_clip in the parent (round {round_})")
        assert os.waitstatus_to_exitcode(status) == 0, f"child failed in round {round_}"


def test_multiprocessing_fork_context_after_read_clip(video):
    path = str(video.path)
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    for round_ in range(ROUNDS // 2):
        read_clip(path, num_frames=4, frame_stride=2, start_frame=round_, motion="motion_vectors")
        workers = [ctx.Process(target=_child_entry, args=(path, queue)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(DEADLINE_S)
        hung = [w for w in workers if w.is_alive()]
        for worker in hung:
            worker.kill()
            worker.join()
        assert not hung, f"fork worker deadlocked after read_clip in the parent (round {round_})"
        assert [w.exitcode for w in workers] == [0, 0]
        assert [queue.get(timeout=1.0) for _ in workers] == ["ok", "ok"]


def test_read_clip_leaves_opencv_thread_count_alone(video):
    """The motion-vector path neither changes nor restarts OpenCV's thread pool."""
    before = cv2.getNumThreads()
    read_clip(str(video.path), num_frames=4, frame_stride=2, start_frame=0, motion="motion_vectors")
    assert cv2.getNumThreads() == before


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_read_clip_leaves_no_decoder_threads_behind(video):
    """Decoders (and their threads) are freed when read_clip returns, not whenever the GC runs."""
    path = str(video.path)
    read_clip(path, num_frames=4, frame_stride=2, start_frame=0, motion="motion_vectors")  # warm-up
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # a leak must not be hidden by a collection that happens to run
    try:
        before = len(os.listdir("/proc/self/task"))
        for start in range(4):
            read_clip(path, num_frames=4, frame_stride=2, start_frame=start, motion="motion_vectors")
        after = len(os.listdir("/proc/self/task"))
    finally:
        if was_enabled:
            gc.enable()
    assert after <= before, f"{after - before} threads left behind by 4 clip reads"


class _Clips:
    """A map-style dataset reading one clip with motion vectors per item."""

    def __init__(self, path: str, items: int) -> None:
        self.path, self.items = path, items

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, index: int) -> np.ndarray:
        clip = read_clip(
            self.path, num_frames=4, frame_stride=2, start_frame=index % 8, motion="motion_vectors"
        )
        return clip.motion


def test_dataloader_fork_workers_after_read_clip(video):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    path = str(video.path)
    loader = DataLoader(
        _Clips(path, 8), batch_size=2, num_workers=2, multiprocessing_context="fork", timeout=DEADLINE_S * 2
    )
    for epoch in range(3):  # new workers are forked every epoch, each after reads in this process
        read_clip(path, num_frames=4, frame_stride=2, start_frame=epoch, motion="motion_vectors")
        batches = list(loader)  # a hung worker raises after the timeout instead of blocking
        assert len(batches) == 4
        assert all(isinstance(b, torch.Tensor) and torch.isfinite(b).all() for b in batches)
