"""Decode cost of motion, side by side in one run: per clip, CPU and wall time of a plain decode and of
decode + motion (exact motion vectors with their reference-distance search, vectors trusted to span
one frame, DIS optical flow, and motion-vector-extractor's raw vectors when it is installed), as
ratios to the plain decode of the same clips; then the whole sample (decode + joint transform +
collate with masks) for ``tube`` vs ``mgm``, and the RSS of a DataLoader worker making such samples.

Videos: the panning scene (four textured objects at different velocities over a panning textured
background: every block moves) encoded with x264's defaults (3 B-frames, b-pyramid, 3 references),
at 224², 320×256 and 720p; clips of 16 frames at strides 2 and 4 from random starts.

Targets: clip decode + exact vectors + dense field <= 1.10x plain decode (CPU time) and cheaper
than DIS ultrafast flow; whole sample with live vectors <= 1.15x tube.

Ratios are medians of per-clip ratios (each clip read by every mode back to back).

    python benchmarks/video.py [--repeats 5] [--clips 4] [--sizes 224x224 256x320 720x1280]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mgm_hf.video import read_clip
from mgm_hf.video.synthetic_scene import write_panning_scene_video

TARGET_VECTORS, TARGET_SAMPLE = 1.10, 1.15

MODES: dict[str, dict] = {
    "plain decode": {"motion": "none"},
    "exact vectors": {"motion": "motion_vectors"},
    "adjacent vectors*": {"motion": "motion_vectors", "mv_reference": "adjacent"},
    "DIS ultrafast": {"motion": "optical_flow", "flow_method": "dis:ultrafast"},
    "DIS fast": {"motion": "optical_flow", "flow_method": "dis:fast"},
}


def make_video(path: Path, size: tuple[int, int], frames: int, options: dict[str, str] | None = None) -> Path:
    """The panning scene, x264 defaults unless ``options`` (e.g. ``mgm-hf prepare --exact_motion``'s)."""
    return write_panning_scene_video(path, num_frames=frames, size=size, options=options).path


def clip_frames(num_frames: int, stride: int, start_frame: int) -> set[int]:
    """The frame indices of a clip (what read_clip samples without jitter)."""
    return set(range(start_frame, start_frame + (num_frames - 1) * stride + 1, stride))


def mvextractor_reader() -> Callable[..., None] | None:
    """A clip reader with motion-vector-extractor (raw vectors, source ±1 only), or None when it is
    not installed (an optional anchor, never a dependency)."""
    try:
        from mvextractor.videocap import VideoCap
    except ImportError:
        return None

    def read(path: Path, num_frames: int, stride: int, start_frame: int) -> None:
        wanted = clip_frames(num_frames, stride, start_frame)
        cap = VideoCap()
        if not cap.open(str(path)):
            raise RuntimeError(f"motion-vector-extractor cannot open {path}")
        try:
            for index in range(max(wanted) + 1):
                cap.set_decode_frames(index in wanted)  # images only for the clip's frames
                ok, _, _, _ = cap.read()
                if not ok:
                    raise RuntimeError(f"motion-vector-extractor stopped at frame {index}")
        finally:
            cap.release()

    return read


def decoder_reader(export_vectors: bool) -> Callable[..., None]:
    """A bare PyAV clip reader (seek to the keyframe, decode through the clip, RGB of the clip's frames
    with one shared converter, SLICE threading as read_clip), with FFmpeg's motion-vector export on
    or off and nothing read from it: the ratio of the two is what the decoder itself pays to export
    vectors, a floor that no work on our side can go below."""
    from mgm_hf.video.probe import open_video_with_info
    from mgm_hf.video.rgb import RGBConverter

    def read(path: Path, num_frames: int, stride: int, start_frame: int) -> None:
        wanted = clip_frames(num_frames, stride, start_frame)
        container, stream, info = open_video_with_info(path)
        try:
            if export_vectors:
                stream.codec_context.options = {"flags2": "+export_mvs"}
            stream.thread_type = "SLICE"
            container.seek(info.pts_of(start_frame), stream=stream, backward=True, any_frame=False)
            rgb, last = RGBConverter(), max(wanted)
            for frame in container.decode(stream):
                index = info.index_of(frame.pts)
                if index in wanted:
                    rgb(frame)
                if index >= last:
                    break
        finally:
            container.close()

    return read


def time_modes(
    path: Path, starts: list[int], repeats: int, num_frames: int, stride: int, modes: dict[str, Callable]
) -> dict[str, tuple[float, float, float, float]]:
    """Per mode: median wall and CPU seconds per clip, and the medians of the per-clip wall and CPU
    ratios to the plain decode of the same clip. Every clip is read by all modes back to back (the
    order rotating from repeat to repeat), so that load on the shared machine hits them alike; CPU
    time (all threads of this process) is the steadier measure."""
    names = list(modes)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    ratios: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for read in modes.values():  # warm-up (imports, flow solver creation)
        read(path, num_frames, stride, starts[0])
    for repeat in range(repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for start in starts:
            clip = {}
            for name in order:
                wall, cpu = time.perf_counter(), time.process_time()
                modes[name](path, num_frames, stride, start)
                clip[name] = (time.perf_counter() - wall, time.process_time() - cpu)
            base_wall, base_cpu = clip["plain decode"]
            for name, (wall, cpu) in clip.items():
                times[name].append((wall, cpu))
                ratios[name].append((wall / base_wall, cpu / base_cpu))
    return {
        name: (
            statistics.median(w for w, _ in times[name]),
            statistics.median(c for _, c in times[name]),
            statistics.median(w for w, _ in ratios[name]),
            statistics.median(c for _, c in ratios[name]),
        )
        for name in names
    }


def clip_reader(kwargs: dict) -> Callable[..., None]:
    def read(path: Path, num_frames: int, stride: int, start: int) -> None:
        read_clip(path, num_frames, stride, start_frame=start, **kwargs)

    return read


def print_table(title: str, times: dict[str, tuple[float, float, float, float]]) -> None:
    print(f"{title}:{'wall ms/clip':>20s}{'ratio':>8s}{'CPU ms/clip':>14s}{'ratio':>8s}")
    for name, (wall, cpu, wall_ratio, cpu_ratio) in times.items():
        print(f"  {name:20s} {wall * 1e3:9.1f} {wall_ratio:8.2f}x {cpu * 1e3:11.1f} {cpu_ratio:8.2f}x")
    exact = times["exact vectors"][3]
    ultrafast = times["DIS ultrafast"][3]
    verdict = "meets" if exact <= TARGET_VECTORS else "misses"
    print(
        f"  exact vectors {verdict} <= {TARGET_VECTORS:.2f}x ({exact:.2f}x CPU); "
        f"{'cheaper' if exact < ultrafast else 'dearer'} than DIS ultrafast ({ultrafast:.2f}x)"
    )


def time_pipeline(path: Path, repeats: int, batch: int, num_frames: int, stride: int) -> dict[str, float]:
    """CPU seconds per batch: decode + pretraining transform + mask (made per row by the transform) +
    collate, tube vs mgm (live motion vectors, and vectors from a MotionCache). With one torch
    thread, as in DataLoader workers: with two, a tiny op waits for a thread on the other, busy core
    of this shared machine (one 8 × 784 by 784 × 2 matmul of MGM's centres took 5–16 ms instead of
    0.02 ms), which measures the machine's load, not the pipeline."""
    import torch

    from mgm_hf.data import VideoCollator, VideoTransform
    from mgm_hf.data.transforms import pretrain_transform
    from mgm_hf.masking import build_masking_strategy
    from mgm_hf.video import MotionCache

    sizes = {"num_frames": num_frames, "image_size": 224, "patch_size": 16, "tubelet_size": 2}
    cache = MotionCache(path.parent / "pipeline_cache", motion="auto", grid=8)
    cache.precompute([path])
    setups = {
        "tube (decode, no motion)": ("none", "tube", {}),
        "mgm  (decode + live vectors)": ("auto", "mgm", {}),
        "mgm  (cached vectors)": ("auto", "mgm", {"motion_cache": cache}),
    }
    rows = {"path": [str(path)] * batch, "label": [0] * batch}
    pipelines = {
        name: (
            VideoTransform(pretrain_transform(224), num_frames=num_frames, frame_stride=stride, motion=motion,
                           read_kwargs=read_kwargs,
                           masking=build_masking_strategy({"name": strategy, "mask_ratio": 0.9}, **sizes)),
            VideoCollator(),
        )
        for name, (motion, strategy, read_kwargs) in setups.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in setups}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for transform, collate in pipelines.values():  # warm-up
        out = transform(rows)
        collate([{k: out[k][i] for k in out} for i in range(batch)])
    for r in range(repeats):
        for name, (transform, collate) in pipelines.items():
            torch.manual_seed(r)  # same random starts and crops for all
            begin = time.process_time()
            out = transform(rows)
            collate([{k: out[k][i] for k in out} for i in range(batch)])
            samples[name].append(time.process_time() - begin)
    torch.set_num_threads(threads)
    return {name: statistics.median(values) for name, values in samples.items()}


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` field in KiB (VmRSS, VmHWM); 0 where there is no /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _WorkerSamples:
    """A map-style dataset: one pretraining sample per index, plus the worker's RSS figures."""

    def __init__(self, path: Path, transform, items: int) -> None:
        self.path, self.transform, self.items = str(path), transform, items

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, index: int) -> dict:
        out = self.transform({"path": [self.path], "label": [0]})
        sample = {k: v[0] for k, v in out.items()}
        sample["_rss"] = (_status_kib("VmRSS"), _status_kib("VmHWM"))
        return sample


def worker_rss(path: Path, batch: int, num_frames: int, stride: int, batches: int = 4) -> dict[str, tuple]:
    """Per strategy: (worker RSS after its first sample, worker peak RSS) in MiB, from one DataLoader
    worker forked from this process (``multiprocessing_context="fork"``) making ``batches`` batches."""
    import torch
    from torch.utils.data import DataLoader

    from mgm_hf.data import VideoCollator, VideoTransform
    from mgm_hf.data.transforms import pretrain_transform
    from mgm_hf.masking import build_masking_strategy

    sizes = {"num_frames": num_frames, "image_size": 224, "patch_size": 16, "tubelet_size": 2}
    out = {}
    for name, motion in (("tube", "none"), ("mgm", "auto")):
        collate = VideoCollator()
        strategy = build_masking_strategy({"name": name, "mask_ratio": 0.9}, **sizes)
        transform = VideoTransform(pretrain_transform(224), num_frames=num_frames, frame_stride=stride, motion=motion,
                                   masking=strategy)

        def collate_rss(samples: list[dict], collate=collate) -> tuple:
            rss = [s.pop("_rss") for s in samples]
            return collate(samples), rss

        loader = DataLoader(
            _WorkerSamples(path, transform, batch * batches),
            batch_size=batch,
            num_workers=1,
            multiprocessing_context="fork",
            collate_fn=collate_rss,
            timeout=120,
        )
        torch.manual_seed(0)
        figures = [r for _, rss in loader for r in rss]
        out[name] = (figures[0][0] / 1024, max(h for _, h in figures) / 1024)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clips", type=int, default=4, help="clips (random starts) per repeat")
    parser.add_argument("--sizes", nargs="+", default=["224x224", "256x320", "720x1280"], help="HxW")
    parser.add_argument("--strides", nargs="+", type=int, default=[2, 4])
    parser.add_argument("--frames", type=int, default=128, help="length of the test videos")
    parser.add_argument("--num-frames", type=int, default=16)
    parser.add_argument("--batch", type=int, default=4, help="videos per batch in the whole-sample run")
    args = parser.parse_args()
    modes = {name: clip_reader(kwargs) for name, kwargs in MODES.items()}
    modes["bare PyAV decode***"] = decoder_reader(export_vectors=False)
    modes["+ vector export***"] = decoder_reader(export_vectors=True)
    anchor = mvextractor_reader()
    if anchor is not None:
        modes["mv-extractor raw**"] = anchor
    print(
        f"clips of {args.num_frames} frames; {args.clips} clips x {args.repeats} repeats (medians); panning "
        f"scene, {args.frames} frames, x264 defaults (3 B-frames, b-pyramid, 3 refs)"
    )
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for size_text in args.sizes:
            size = tuple(int(v) for v in size_text.split("x"))
            path = make_video(Path(tmp) / f"scene_{size_text}.mp4", size, args.frames)
            for stride in args.strides:
                span = (args.num_frames - 1) * stride + 1
                starts = [int(s) for s in rng.integers(stride, args.frames - span, args.clips)]
                times = time_modes(path, starts, args.repeats, args.num_frames, stride, modes)
                print_table(f"{size[0]}x{size[1]}, stride {stride}", times)
        # The search skipped: an `mgm-hf prepare --exact_motion` encode (one reference, no B-frames).
        size = tuple(int(v) for v in args.sizes[min(1, len(args.sizes) - 1)].split("x"))
        exact = make_video(Path(tmp) / "exact.mp4", size, args.frames,
                           {"g": "50", "bf": "0", "refs": "1", "crf": "23", "preset": "veryfast"})
        stride = args.strides[-1]
        starts = [int(s) for s in rng.integers(stride, args.frames - (args.num_frames - 1) * stride - 1, args.clips)]
        subset = {k: modes[k] for k in ("plain decode", "exact vectors", "DIS ultrafast")}
        times = time_modes(exact, starts, args.repeats, args.num_frames, stride, subset)
        print_table(f"{size[0]}x{size[1]}, stride {stride}, --exact_motion encode (search skipped)", times)
        print("  * vectors trusted to span one frame: wrong on these streams, the floor without the search")
        print("  *** a bare PyAV loop, FFmpeg's motion-vector export off / on and nothing read: the second over the first"
              " is what the decoder itself pays to export vectors")
        if anchor is not None:
            print("  ** motion-vector-extractor 2.0: raw vectors (source +-1, no distance, no dense field)")
        pipeline_video = make_video(Path(tmp) / "pipeline.mp4", size, args.frames)
        pipeline = time_pipeline(pipeline_video, args.repeats, args.batch, args.num_frames, stride)
        print(f"whole sample (decode + pretrain_transform(224) + collate + mask), {size[0]}x{size[1]}, "
              f"stride {stride}, batch {args.batch}, CPU time, one torch thread (as in DataLoader workers):")
        tube = next(iter(pipeline.values()))
        for name, seconds in pipeline.items():
            print(f"  {name:30s} {seconds / args.batch * 1e3:8.1f} ms/sample   {seconds / tube:5.2f}x")
        for name, seconds in list(pipeline.items())[1:]:
            ratio = seconds / tube
            print(f"  target whole sample <= {TARGET_SAMPLE:.2f}x tube: {name.strip()} "
                  f"{'meets' if ratio <= TARGET_SAMPLE else 'misses'} it ({ratio:.2f}x)")
        for name, (first, peak) in worker_rss(pipeline_video, args.batch, args.num_frames, stride).items():
            print(f"DataLoader worker (fork), {name}: RSS {first:.0f} MiB after its first sample, peak {peak:.0f} MiB")
    print(f"peak RSS (benchmark process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
