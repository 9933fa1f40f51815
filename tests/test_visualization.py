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
SCREEN_WIDTH = 1600  # a picture wider than this does not read on a screen


def is_text_on_white(band: np.ndarray) -> bool:
    """Mostly white background with some dark (text) pixels."""
    white = (band == 255).all(axis=-1).mean()
    return bool(white > 0.6 and (band.max(axis=-1) < 80).any())


def has_saturated_colours(region: np.ndarray) -> bool:
    """Some pixels of strong colour (max - min channel > 200): a colour wheel, not black text."""
    spread = region.astype(int).max(axis=-1) - region.astype(int).min(axis=-1)
    return bool((spread > 200).sum() > 50)


def find_block(image: np.ndarray, block: np.ndarray) -> bool:
    """Whether ``block`` (h, w, 3) occurs in ``image`` at some position."""
    def pack(rgb: np.ndarray) -> np.ndarray:  # one int per pixel
        rgb = rgb.astype(np.int32)
        return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]

    image, block = pack(image), pack(block)
    h, w = block.shape
    rows, cols = image.shape[0] - h + 1, image.shape[1] - w + 1
    corners = np.ones((rows, cols), bool)  # where the block's four corner pixels match
    for dy, dx in ((0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1)):
        corners &= image[dy : dy + rows, dx : dx + cols] == block[dy, dx]
    return any(np.array_equal(image[y : y + h, x : x + w], block) for y, x in zip(*np.nonzero(corners)))


@pytest.fixture(scope="module")
def square_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("viz") / "square.mp4"
    write_moving_square_video(path, num_frames=12, size=(64, 64), square_size=16, velocity=(3.0, 0.0),
                              start=(4, 20), options={"bf": "0", "refs": "1"})
    return path


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("viz") / "long.mp4"
    write_moving_square_video(path, num_frames=20, size=(64, 64), square_size=16, velocity=(2.0, 1.0),
                              start=(4, 8), options={"bf": "0", "refs": "1"})
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
    # One band (8 × 128 px fit in the width): a title and a header of frame numbers, then the rows.
    top = image.shape[0] - 5 * PANEL
    assert image.shape[1] == LABEL_WIDTH + 8 * PANEL and top > 20
    assert is_text_on_white(image[:top])
    # The mask: 0.9 of each frame's 64 tokens (mgm counts per frame), 4 time steps.
    assert int(result.mask.sum()) == 4 * 57
    # Encoder-input row (the last) is grey exactly on masked pixels: one masked and one visible token.
    row = image[top + 4 * PANEL :, LABEL_WIDTH : LABEL_WIDTH + PANEL]  # frame 0
    grid = result.mask.reshape(4, 8, 8)[0]
    y, x = map(int, torch.nonzero(grid)[0])
    assert (row[2 * 8 * y : 2 * 8 * (y + 1), 2 * 8 * x : 2 * 8 * (x + 1)] == 128).all()
    y, x = map(int, torch.nonzero(~grid)[0])
    assert not (row[2 * 8 * y : 2 * 8 * (y + 1), 2 * 8 * x : 2 * 8 * (x + 1)] == 128).all()


def test_title_names_strategy_ratio_and_motion_source(square_video: Path, tmp_path: Path) -> None:
    result = visualize(square_video, out=tmp_path / "t.png", strategy="mgmae", mask_ratio=0.75, **CLIP)
    assert "mgmae" in result.title and "0.75" in result.title and "192/256" in result.title
    assert "motion vectors" in result.title  # an H.264 file: motion="auto" reads its vectors
    flow = visualize(square_video, out=tmp_path / "f.png", strategy="mgmae", motion="optical_flow", **CLIP)
    assert "optical flow" in flow.title


def test_motion_colours_have_a_colour_wheel_legend(square_video: Path, tmp_path: Path) -> None:
    visualize(square_video, out=tmp_path / "w.png", strategy="mgm", **CLIP)
    image = np.asarray(Image.open(tmp_path / "w.png").convert("RGB"))
    top = image.shape[0] - 5 * PANEL
    names = {name: image[top + i * PANEL : top + (i + 1) * PANEL, :LABEL_WIDTH] for i, name in
             enumerate(["frames", "motion (colour)", "motion (arrows)", "mask (red)", "encoder input"])}
    assert has_saturated_colours(names["motion (colour)"])
    assert not has_saturated_colours(names["frames"])  # the other names are plain text


def test_sixteen_frames_wrap_to_a_screen_width(long_video: Path, tmp_path: Path) -> None:
    """The papers' input, 16 frames of 224 px, was one 3696 px wide line of frames."""
    result = visualize(long_video, out=tmp_path / "16.png", strategy="tube", motion="none", num_frames=16,
                       size=224, patch_size=16, stride=1)
    image = np.asarray(Image.open(tmp_path / "16.png").convert("RGB"))
    assert LABEL_WIDTH + 4 * 224 <= image.shape[1] <= SCREEN_WIDTH
    assert image.shape[0] > 3 * 3 * 224  # 3 rows (frames, mask, encoder input) in 3 bands
    assert is_text_on_white(image[:20])  # the title on top
    frames = result.panels[0].frames
    assert len(frames) == 16 and all(find_block(image, frames[t, :32, :32]) for t in range(16))


def test_long_png_hints_at_an_animation(long_video: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="mgm_hf.visualization"):
        visualize(long_video, out=tmp_path / "h.png", strategy="tube", motion="none", num_frames=16, stride=1,
                  size=64, patch_size=8)
    assert "h.gif" in caplog.text


def test_rows_follow_options(square_video: Path, tmp_path: Path) -> None:
    no_arrows = visualize(square_video, out=tmp_path / "b.png", strategy="tube", arrows=False, **CLIP)
    assert len(no_arrows.panels) == 4
    no_motion = visualize(square_video, out=tmp_path / "c.png", strategy="tube", motion="none", **CLIP)
    assert [p.name for p in no_motion.panels] == ["frames", "mask (red)", "encoder input"]
    with_motion = np.asarray(Image.open(tmp_path / "b.png")).shape[0]
    assert with_motion - np.asarray(Image.open(tmp_path / "c.png")).shape[0] == PANEL  # one row fewer


def test_gif_has_one_frame_per_clip_frame(long_video: Path, tmp_path: Path) -> None:
    visualize(long_video, out=tmp_path / "a.gif", strategy="random", **{**CLIP, "num_frames": 16})
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 16
        width, height = gif.size
        first = np.asarray(gif.convert("RGB"))
        gif.seek(15)
        last = np.asarray(gif.convert("RGB"))
    assert width == LABEL_WIDTH + PANEL and height > 5 * PANEL
    assert is_text_on_white(first[:20])  # the title
    assert not np.array_equal(first[height - 5 * PANEL :], last[height - 5 * PANEL :])  # the clip moves


def test_mp4_decodes_back(square_video: Path, tmp_path: Path) -> None:
    visualize(square_video, out=tmp_path / "a.mp4", strategy="smm", **CLIP)
    with av.open(str(tmp_path / "a.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 8
    assert frames[0].shape[1] == LABEL_WIDTH + PANEL and frames[0].shape[0] > 5 * PANEL


def test_cli_end_to_end(square_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.png"
    code = cli_main(["visualize", str(square_video), "--strategy", "mgmae", "--out", str(out), "--num_frames", "8",
                     "--size", "64", "--patch_size", "8", "--stride", "1", "--mask_ratio", "0.75",
                     "--options", '{"base_frame": "first"}', "--seed", "3"])
    assert code == 0
    assert "192/256 tokens masked" in capsys.readouterr().out  # 0.75 of 4 × 64 tokens
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[1] == LABEL_WIDTH + 8 * PANEL and image.shape[0] > 5 * PANEL


def test_cli_reports_mask_and_rows(square_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["visualize", str(square_video), "--strategy", "tube", "--out", str(tmp_path / "x.png"),
                     "--num_frames", "8", "--size", "64", "--patch_size", "8", "--mask_ratio", "0.75", "--no_arrows"])
    assert code == 0
    text = capsys.readouterr().out
    assert "192/256 tokens masked" in text and "motion (arrows)" not in text


def test_checkpoint_adds_reconstruction_row(square_video: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    result = visualize(square_video, out=tmp_path / "r.png", model=tiny_checkpoint, stride=1)
    # norm_pix_loss (the default): masked patches borrow the true patches' mean/std, and the row says so.
    assert result.panels[-1].name == "reconstruction (true patch mean/std)"
    assert result.geometry == MaskGeometry(8, 64, 8, 2)  # the model's geometry
    assert int(result.mask.sum()) == 192  # the model's own masking: tube 0.75
    assert "tube" in result.title and "0.75" in result.title
    with_reconstruction = np.asarray(Image.open(tmp_path / "r.png")).shape[0]
    visualize(square_video, out=tmp_path / "n.png", strategy="tube", mask_ratio=0.75, **CLIP)
    assert with_reconstruction - np.asarray(Image.open(tmp_path / "n.png")).shape[0] == PANEL
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
    assert image.dtype == np.uint8 and image.shape[1] == LABEL_WIDTH + 8 * PANEL and image.shape[0] > 4 * PANEL
    assert is_text_on_white(image[:20])  # the title: the config's masking
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
