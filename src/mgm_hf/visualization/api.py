"""``visualize``: draw a clip, its motion, a strategy's mask, the encoder input and (with a model)
the reconstruction; ``training_figure``: the same picture from a pretraining batch."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mgm_hf.masking import MaskGeometry, build_masking_strategy

from .layout import compose_frames, compose_grid, default_scale
from .panels import Panel, clip_panels
from .reconstruction import reconstruct, reconstruction_name, to_uint8_frames, unnormalize
from .sources import resolve_video
from .writers import FORMATS, write_gif, write_mp4, write_png

logger = logging.getLogger(__name__)

# Geometry without a model: the papers' ViT input for files, the tiny preset for the built-in dataset.
FILE_GEOMETRY = {"num_frames": 16, "image_size": 224, "patch_size": 16, "tubelet_size": 2}
BUILTIN_GEOMETRY = {"num_frames": 8, "image_size": 64, "patch_size": 8, "tubelet_size": 2}
STILL_FRAMES = 8  # a PNG of more frames than this gets a hint that a GIF/MP4 shows them better


def mask_title(masking: dict[str, Any], mask: torch.Tensor, motion: str | None = None,
               clip: str | None = None) -> str:
    """The picture's title: strategy, mask ratio (set and drawn), its other settings, the motion
    source and the clip.

    Args:
        masking: the strategy's settings (``name``, ``mask_ratio``, options).
        mask: (L,) bool, True = masked.
        motion: where the motion rows come from, None to leave it out.
        clip: what was sampled, None to leave it out.
    """
    options = ", ".join(f"{k}={v}" for k, v in masking.items() if k not in ("name", "mask_ratio"))
    parts = [f"{masking['name']} masking, ratio {masking['mask_ratio']:g} "
             f"({int(mask.sum())}/{mask.numel()} tokens masked)" + (f"; {options}" if options else "")]
    if motion is not None:
        parts.append(f"motion: {motion}")
    if clip is not None:
        parts.append(clip)
    return " · ".join(parts)


def describe_motion(motion_source: str, strategy_estimates: bool) -> str:
    """``Clip.motion_source`` in words (``"optical_flow:dis"`` -> ``"optical flow (dis)"``)."""
    if motion_source == "motion_vectors":
        return "codec motion vectors"
    if motion_source.startswith("optical_flow"):
        method = motion_source.partition(":")[2]
        return f"optical flow ({method})" if method else "optical flow"
    return "none read (the strategy estimates its own from the pixels)" if strategy_estimates else "none"


@dataclass
class Visualization:
    """What :func:`visualize` drew: the rows, the mask (L,), the title and where it was written."""

    panels: list[Panel]
    mask: torch.Tensor
    geometry: MaskGeometry
    path: Path
    video: str
    title: str


def training_figure(pixel_values: torch.Tensor, bool_masked_pos: torch.Tensor, logits: torch.Tensor,
                    config: Any) -> np.ndarray:
    """The picture the pretraining script saves every ``--picture_steps`` (first clip of the batch).

    Args:
        pixel_values: (1, T, C, H, W) ImageNet-normalised clip (only the first is drawn).
        bool_masked_pos: (1, L) bool, True = masked.
        logits: (1, num_masked, tubelet * patch² * C) model outputs (norm_pix space when
            ``config.norm_pix_loss``: de-normalised with the true patches' statistics).
        config: the model config (geometry and ``norm_pix_loss``).

    Returns:
        uint8 (H', W', 3) from :func:`~.layout.compose_grid`: a title (the config's masking), rows
        frames, mask, encoder input, reconstruction, upscaled by :func:`default_scale`, at most
        :data:`~.layout.MAX_WIDTH` wide.
    """
    geometry = MaskGeometry.from_config(config)
    frames = unnormalize(pixel_values[0].detach().float().cpu()).clamp(0, 1)
    mask = bool_masked_pos[0].detach().cpu().bool()
    norm_pix_loss = bool(getattr(config, "norm_pix_loss", True))
    recon = reconstruct(frames, mask, logits[0].detach().cpu(), geometry, norm_pix_loss)
    panels = clip_panels(to_uint8_frames(frames), mask, geometry, reconstruction=to_uint8_frames(recon),
                         reconstruction_name=reconstruction_name(norm_pix_loss))
    title = mask_title(dict(config.masking), mask, clip="pretraining batch, first clip")
    return compose_grid(panels, default_scale(frames.shape[-2]), title=title)


def visualize(
    video: str | Path | None = None,
    *,
    out: str | Path,
    strategy: str | None = None,
    model: str | Path | None = None,
    mask_ratio: float | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    num_frames: int | None = None,
    stride: int = 2,
    start: int | None = 0,
    size: int | None = None,
    patch_size: int | None = None,
    tubelet_size: int | None = None,
    motion: str = "auto",
    builtin: bool = False,
    dataset: str | None = None,
    root: str | Path | None = None,
    split: str = "train",
    index: int = 0,
    arrows: bool = True,
    scale: int | None = None,
    fps: int = 4,
) -> Visualization:
    """Draws a clip and a strategy's mask (and a model's reconstruction) to ``out``.

    Args:
        video: a video file or ``"builtin:<i>"``; None with ``builtin``/``dataset`` (see
            :func:`~mgm_hf.visualization.sources.resolve_video`).
        out: ``.png`` (rows × frames grid, wrapped into bands to stay at most 1600 px wide), ``.gif``
            or ``.mp4`` (one picture per frame: the better choice for clips of more than 8 frames).
        strategy: masking strategy name (default: the model's, else ``"mgm"``).
        model: an ``MGMVideoMAE`` checkpoint (folder or Hub id): adds the reconstruction row and fixes
            the geometry (frames, size, patch, tubelet).
        mask_ratio, options: strategy settings (ratio default: the model's, else 0.9).
        seed: the mask's generator seed.
        num_frames, stride, start, size, patch_size, tubelet_size: clip sampling and geometry
            (defaults: the model's; else 8 frames of 64 px / patch 8 for the built-in dataset and 16
            frames of 224 px / patch 16 otherwise; tubelet 2; ``start=None`` = random, seeded).
        motion: what ``read_clip`` reads (``"auto"``, ``"motion_vectors"``, ``"optical_flow"``,
            ``"none"``: no motion rows, and motion-guided strategies then fail).
        arrows: add the vector-field row; scale: integer upscaling (default: panels ≥ 112 px).

    Returns:
        :class:`Visualization`.
    """
    from mgm_hf.data.transforms import eval_transforms
    from mgm_hf.video import read_clip

    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"--out must end with one of {FORMATS} (.png: a still grid; .gif/.mp4: the clip over time, "
                         f"the better choice for more than {STILL_FRAMES} frames), got {out.name!r}.")
    path, is_builtin = resolve_video(video, builtin=builtin, dataset=dataset, root=root, split=split, index=index)

    net, masking = None, {"name": "mgm", "mask_ratio": 0.9}
    sizes = dict(BUILTIN_GEOMETRY if is_builtin else FILE_GEOMETRY)
    if model is not None:
        from mgm_hf import MGMVideoMAE

        net = MGMVideoMAE.from_pretrained(str(model)).eval()
        sizes = {k: getattr(net.config, k) for k in sizes}
        masking = dict(net.config.masking)
    for key, value in (("num_frames", num_frames), ("image_size", size), ("patch_size", patch_size),
                       ("tubelet_size", tubelet_size)):
        if value is not None:
            if net is not None and value != sizes[key]:
                raise ValueError(f"The model was built for {key}={sizes[key]}, got {value}.")
            sizes[key] = value
    if strategy is not None and strategy != masking["name"]:
        masking = {"name": strategy, "mask_ratio": masking["mask_ratio"]}
    masking.update(options or {})
    if mask_ratio is not None:
        masking["mask_ratio"] = mask_ratio
    built = build_masking_strategy(masking, **sizes)
    geometry = built.geometry

    generator = torch.Generator().manual_seed(seed)
    clip = read_clip(path, num_frames=geometry.num_frames, frame_stride=stride, start_frame=start, motion=motion,
                     generator=generator)
    side = geometry.image_size[0]
    cell = next(c for c in (8, 4, 2, 1) if side % c == 0 and c <= max(1, side // 4))
    pixel_values, flow = eval_transforms(side, num_crops=1, motion_cell=cell)[0](clip.frames, clip.motion)
    pixel_values = torch.as_tensor(pixel_values).float()
    flow_t = None if flow is None else torch.as_tensor(np.asarray(flow), dtype=torch.float32)
    mask = built(1, motion=None if flow_t is None else flow_t[None], generator=generator,
                 pixel_values=pixel_values[None] if flow_t is None and built.requires_motion else None)[0]

    frames = unnormalize(pixel_values).clamp(0, 1)
    reconstruction = None
    name = "reconstruction"
    if net is not None:
        with torch.no_grad():
            logits = net(pixel_values=pixel_values[None], bool_masked_pos=mask[None]).logits[0]
        reconstruction = to_uint8_frames(reconstruct(frames, mask, logits, geometry, net.config.norm_pix_loss))
        name = reconstruction_name(net.config.norm_pix_loss)
    panels = clip_panels(to_uint8_frames(frames), mask, geometry,
                         motion=None if flow_t is None else flow_t.numpy(), reconstruction=reconstruction,
                         arrows=arrows, reconstruction_name=name)
    motion_words = describe_motion(clip.motion_source, flow_t is None and built.requires_motion)
    title = mask_title(masking, mask, motion_words,
                       f"{Path(path).name}: {geometry.num_frames} frames of {side}x{side} px, frame stride {stride}")
    scale = scale or default_scale(side)
    if out.suffix.lower() == ".png":
        if geometry.num_frames > STILL_FRAMES:
            logger.info("%d frames do not read well in a still picture (they wrap into rows); %s shows the mask "
                        "over time.", geometry.num_frames, out.with_suffix(".gif"))
        write_png(compose_grid(panels, scale, title=title), out)
    elif out.suffix.lower() == ".gif":
        write_gif(compose_frames(panels, scale, title=title), out, fps)
    else:
        write_mp4(compose_frames(panels, scale, title=title), out, fps)
    return Visualization(panels=panels, mask=mask, geometry=geometry, path=out, video=path, title=title)


__all__ = ["BUILTIN_GEOMETRY", "FILE_GEOMETRY", "STILL_FRAMES", "Visualization", "describe_motion", "mask_title",
           "training_figure", "visualize"]
