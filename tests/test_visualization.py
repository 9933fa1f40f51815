"""mgm_hf.visualization: pictures of a known moving-square clip, the CLI, the training hook."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.cli import main as cli_main
from mgm_hf.mask_metrics import patch_statistics, patchify
from mgm_hf.masking import MaskGeometry
from mgm_hf.video import write_moving_square_video
from mgm_hf.visualization import flow_to_color, reconstruct, training_figure, visualize
from mgm_hf.visualization.panels import LABEL_WIDTH

# 8 frames of 64 px, patch 8: panels are upscaled ×2 (to >= 112 px), so each is 128 × 128.
CLIP = {"num_frames": 8, "size": 64, "patch_size": 8, "stride": 1}
PANEL = 128


@pytest.fixture(scope="module")
def square_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("viz") / "square.mp4"
    write_moving_square_video(path, num_frames=12, size=(64, 64), square_size=16, velocity=(3.0, 0.0),
                              start=(4, 20), options={"bf": "0", "refs": "1"})
    return path


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    config = MGMVideoMAEConfig.from_preset("tiny", num_hidden_layers=1, decoder_num_hidden_layers=1,
                                           masking={"name": "tube", "mask_ratio": 0.75})
    torch.manual_seed(0)
    MGMVideoMAE(config).save_pretrained(path)
    return path


def test_png_has_one_row_per_panel(square_video: Path, tmp_path: Path) -> None:
    result = visualize(square_video, out=tmp_path / "a.png", strategy="mgm", **CLIP)
    names = [p.name for p in result.panels]
    assert names == ["frames", "motion (colour)", "motion (arrows)", "mask (red)", "encoder input"]
    image = np.asarray(Image.open(tmp_path / "a.png").convert("RGB"))
    assert image.shape == (5 * PANEL, LABEL_WIDTH + 8 * PANEL, 3)
    # The mask: 0.9 of each frame's 64 tokens (mgm counts per frame), 4 time steps.
    assert int(result.mask.sum()) == 4 * 57
    # Encoder-input row is grey exactly on masked pixels: check one masked and one visible token.
    row = image[4 * PANEL : 5 * PANEL, LABEL_WIDTH : LABEL_WIDTH + PANEL]  # frame 0
    grid = result.mask.reshape(4, 8, 8)[0]
    y, x = map(int, torch.nonzero(grid)[0])
    assert (row[2 * 8 * y : 2 * 8 * (y + 1), 2 * 8 * x : 2 * 8 * (x + 1)] == 128).all()
    y, x = map(int, torch.nonzero(~grid)[0])
    assert not (row[2 * 8 * y : 2 * 8 * (y + 1), 2 * 8 * x : 2 * 8 * (x + 1)] == 128).all()


def test_rows_follow_options(square_video: Path, tmp_path: Path) -> None:
    no_arrows = visualize(square_video, out=tmp_path / "b.png", strategy="tube", arrows=False, **CLIP)
    assert len(no_arrows.panels) == 4
    no_motion = visualize(square_video, out=tmp_path / "c.png", strategy="tube", motion="none", **CLIP)
    assert [p.name for p in no_motion.panels] == ["frames", "mask (red)", "encoder input"]
    assert np.asarray(Image.open(tmp_path / "c.png")).shape[0] == 3 * PANEL


def test_gif_has_one_frame_per_clip_frame(square_video: Path, tmp_path: Path) -> None:
    visualize(square_video, out=tmp_path / "a.gif", strategy="random", **CLIP)
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 8
        assert gif.size == (LABEL_WIDTH + PANEL, 5 * PANEL)


def test_mp4_decodes_back(square_video: Path, tmp_path: Path) -> None:
    visualize(square_video, out=tmp_path / "a.mp4", strategy="smm", **CLIP)
    with av.open(str(tmp_path / "a.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 8
    assert frames[0].shape == (5 * PANEL, LABEL_WIDTH + PANEL, 3)


def test_cli_end_to_end(square_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.png"
    code = cli_main(["visualize", str(square_video), "--strategy", "mgmae", "--out", str(out), "--num-frames", "8",
                     "--size", "64", "--patch-size", "8", "--stride", "1", "--mask-ratio", "0.75",
                     "--options", '{"base_frame": "first"}', "--seed", "3"])
    assert code == 0
    assert "192/256 tokens masked" in capsys.readouterr().out  # 0.75 of 4 × 64 tokens
    assert np.asarray(Image.open(out).convert("RGB")).shape == (5 * PANEL, LABEL_WIDTH + 8 * PANEL, 3)


def test_cli_reports_mask_and_rows(square_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["visualize", str(square_video), "--strategy", "tube", "--out", str(tmp_path / "x.png"),
                     "--num-frames", "8", "--size", "64", "--patch-size", "8", "--mask-ratio", "0.75", "--no-arrows"])
    assert code == 0
    text = capsys.readouterr().out
    assert "192/256 tokens masked" in text and "motion (arrows)" not in text


def test_checkpoint_adds_reconstruction_row(square_video: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    result = visualize(square_video, out=tmp_path / "r.png", model=tiny_checkpoint, stride=1)
    assert result.panels[-1].name == "reconstruction"
    assert result.geometry == MaskGeometry(8, 64, 8, 2)  # the model's geometry
    assert int(result.mask.sum()) == 192  # the model's own masking: tube 0.75
    assert np.asarray(Image.open(tmp_path / "r.png")).shape[0] == 6 * PANEL
    # Visible tokens of the reconstruction are the input pixels.
    hidden = result.panels[-2].frames  # encoder input
    visible = hidden != 128
    assert np.array_equal(result.panels[-1].frames[visible], result.panels[0].frames[visible])


def test_reconstruct_denormalises_with_the_true_patch_statistics() -> None:
    """Logits equal to the true norm-pix targets give back the true clip exactly."""
    geometry = MaskGeometry(4, 16, 8, 2)
    frames = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([True, False, True, True, False, True, False, False])
    patches = patchify(frames[None], geometry)[0][mask]  # (5, 128, 3)
    mean, std = patch_statistics(patches)
    logits = ((patches - mean) / std).reshape(int(mask.sum()), -1)
    assert torch.allclose(reconstruct(frames, mask, logits, geometry, norm_pix_loss=True), frames, atol=1e-5)
    raw = patches.reshape(int(mask.sum()), -1)
    assert torch.allclose(reconstruct(frames, mask, raw, geometry, norm_pix_loss=False), frames, atol=1e-6)


def test_training_figure_and_the_pretraining_hook(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from accelerate import Accelerator

    from mgm_hf.training.runtime.pictures import PictureLogger

    model = MGMVideoMAE.from_pretrained(tiny_checkpoint)
    pixel_values = torch.randn(2, 8, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    outputs = model(pixel_values=pixel_values)
    image = training_figure(pixel_values[:1], outputs.bool_masked_pos[:1], outputs.logits[:1], model.config)
    assert image.dtype == np.uint8 and image.shape == (4 * PANEL, LABEL_WIDTH + 8 * PANEL, 3)
    logger = PictureLogger(str(tmp_path), every=1)
    assert logger.available
    path = logger.maybe_log(Accelerator(cpu=True), 1, {"pixel_values": pixel_values}, outputs, model.config)
    assert path is not None and np.asarray(Image.open(path)).shape == image.shape


def test_flow_colours_of_known_directions() -> None:
    flow = np.array([[[0.0, 0.0], [2.0, 0.0], [-2.0, 0.0], [1.0, 0.0]]], np.float32)  # still, right, left, slow
    colours = flow_to_color(flow).astype(int)
    assert colours[0, 0].tolist() == [255, 255, 255]
    assert colours[0, 1].tolist() == [255, 0, 0]
    assert colours[0, 2].tolist() == [0, 255, 255]
    assert colours[0, 3, 0] == 255 and 120 < colours[0, 3, 1] < 135  # half speed: half saturation


def test_builtin_source(tmp_path: Path) -> None:
    result = visualize("builtin:2", out=tmp_path / "b.png", strategy="mgm")
    assert "builtin_motion" in result.video and result.geometry == MaskGeometry(8, 64, 8, 2)
    with pytest.raises(ValueError, match="must end with"):
        visualize("builtin:2", out=tmp_path / "b.jpg")
