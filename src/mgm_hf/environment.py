"""``mgm-hf env``: what a bug report needs.

The versions of mgm_hf and the libraries it runs on, the FFmpeg libraries inside PyAV, and what
this PyAV can decode: an 8-frame H.264 clip is encoded and decoded with motion-vector export to
check that vectors come out (MGM needs them), and the decoders FFmpeg has for each codec are listed
(software ones first; hardware and hybrid ones only work with their device).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
import tempfile
from pathlib import Path

import av
import av.codec

PACKAGES = ("transformers", "accelerate", "datasets", "huggingface_hub")  # distribution names
OPTIONAL_PACKAGES = ("numba",)
DECODED_CODECS = ("h264", "hevc", "vp9", "av1", "mpeg4")
FFMPEG_LIBRARIES = ("libavcodec", "libavformat", "libavutil", "libswscale")
PROBE_FRAMES = 8


def package_version(name: str) -> str:
    """The installed version of distribution ``name``, or ``"not installed"``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def torch_description() -> str:
    """``"2.13.0 (CUDA available: False)"``, with the CUDA version and devices when available."""
    import torch

    if not torch.cuda.is_available():
        return f"{torch.__version__} (CUDA available: False)"
    names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
    return (f"{torch.__version__} (CUDA available: True, CUDA {torch.version.cuda}, "
            f"{torch.cuda.device_count()} device(s): {', '.join(names)})")


def ffmpeg_description() -> str:
    """The FFmpeg release PyAV was built with and its library versions."""
    libraries = ", ".join(f"{name} {'.'.join(map(str, av.library_versions[name]))}"
                          for name in FFMPEG_LIBRARIES if name in av.library_versions)
    return f"{getattr(av, 'ffmpeg_version_info', 'unknown')} ({libraries})"


def decoders(codec: str) -> str:
    """FFmpeg's decoders for ``codec`` (e.g. ``"vp9"``): ``"vp9, libvpx-vp9 (hardware: vp9_cuvid)"``,
    or ``"none"``."""
    software, hardware = [], []
    for name in sorted(av.codecs_available):
        try:
            found = av.codec.Codec(name, "r")
        except av.codec.codec.UnknownCodecError:  # an encoder-only name
            continue
        if found.type == "video" and found.canonical_name == codec:
            is_hardware = bool(found.capabilities & (av.codec.Capabilities.hardware | av.codec.Capabilities.hybrid))
            (hardware if is_hardware else software).append(name)
    if codec in software:  # FFmpeg's own decoder first
        software.insert(0, software.pop(software.index(codec)))
    text = ", ".join(software) or "none"
    return f"{text} (hardware: {', '.join(hardware)})" if hardware else text


def probe_motion_vectors() -> str:
    """Encodes an 8-frame moving-square clip with libx264 in a temporary folder and decodes it with
    motion-vector export (the check ``mgm-hf prepare`` runs on its outputs).

    Returns:
        ``"yes (...)"`` when the vectors come out, else ``"no: <why>"``.
    """
    from mgm_hf.data.transcode import verify_h264
    from mgm_hf.video import write_moving_square_video

    with tempfile.TemporaryDirectory(prefix="mgm_hf_env_") as folder:
        path = Path(folder) / "probe.mp4"
        try:
            write_moving_square_video(path, num_frames=PROBE_FRAMES, size=(64, 64), square_size=16,
                                      velocity=(3.0, 0.0))
        except (av.error.FFmpegError, OSError, ValueError) as error:
            return f"no: could not encode an H.264 probe clip with libx264 ({type(error).__name__}: {error})"
        ok, reason, frames = verify_h264(path, expected_frames=PROBE_FRAMES, tolerance=0)
    if ok:
        return f"yes (vectors found in a {frames}-frame libx264 clip decoded with export_mvs)"
    return f"no: {reason}"


def environment_report() -> dict[str, str]:
    """What ``mgm-hf env`` prints, key by key."""
    import cv2
    import numpy

    import mgm_hf

    report = {
        "mgm_hf": f"{mgm_hf.__version__} ({Path(mgm_hf.__file__).parent})",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch_description(),
    }
    report.update({name: package_version(name) for name in PACKAGES})
    report["av (PyAV)"] = av.__version__
    report["FFmpeg"] = ffmpeg_description()
    report["opencv"] = cv2.__version__
    report["numpy"] = numpy.__version__
    report.update({name: package_version(name) for name in OPTIONAL_PACKAGES})
    report["h264 motion vectors"] = probe_motion_vectors()
    report.update({f"{codec} decoders": decoders(codec) for codec in DECODED_CODECS})
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``mgm-hf env`` takes no options."""


def run(args: argparse.Namespace) -> int:
    """Prints the report as ``- key: value`` lines, ready to paste into an issue."""
    print("Paste this into your bug report:\n")
    for key, value in environment_report().items():
        print(f"- {key}: {value}")
    return 0


__all__ = ["add_arguments", "decoders", "environment_report", "package_version", "probe_motion_vectors", "run"]
