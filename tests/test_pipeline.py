"""A fine-tuned classifier in transformers' ``video-classification`` pipeline, sampling frames as it
was trained: ``num_frames`` frames ``frame_stride`` apart, the stride recorded in ``config.json``.

The classifier is saved the way ``examples/finetune.py`` saves it (``classifier_from_pretrained``,
``record_frame_sampling``, ``save_pretrained``, ``save_run_files``). The video is a real file made
with PyAV whose content changes every ``STRIDE`` frames (lossless x264, grey noise): the pipeline's
indices ``linspace(0, N·STRIDE - 1, N)`` then see the same pictures as the validation reader's
centre clip at stride ``STRIDE`` (``mgm_hf.training.data.eval_view_transform``), while consecutive
frames (the pipeline's default) see a different clip.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.hub import record_frame_sampling, save_run_files, video_classification_pipeline
from mgm_hf.models.transfer import classifier_from_pretrained
from mgm_hf.training.data import eval_view_transform

NUM_FRAMES, STRIDE, SIZE = 4, 3, 32
LABELS = {0: "left", 1: "right", 2: "still"}


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pipeline")
    torch.manual_seed(0)
    config = MGMVideoMAEConfig.from_preset("tiny", image_size=SIZE, num_frames=NUM_FRAMES,
                                           masking={"name": "tube", "mask_ratio": 0.75})
    MGMVideoMAE(config).save_pretrained(root / "pretrained")
    model = classifier_from_pretrained(str(root / "pretrained"), LABELS)
    torch.nn.init.normal_(model.classifier.weight, std=1.0)  # a head whose logits follow the input clearly
    record_frame_sampling(model.config, STRIDE)
    out = root / "finetuned"
    model.save_pretrained(out)
    save_run_files(out, {"model_name_or_path": str(root / "pretrained"), "output_dir": str(out)},
                   {"validation": {"top1": 0.5, "top5": 1.0, "num_videos": 3}}, model.config,
                   kind="video-classification")
    return out


@pytest.fixture(scope="module")
def held_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NUM_FRAMES × STRIDE frames of SIZE² px: grey noise picture k // STRIDE in frame k."""
    path = tmp_path_factory.mktemp("video") / "held.mp4"
    rng = np.random.default_rng(0)
    pictures = [np.repeat(rng.integers(0, 256, (SIZE, SIZE, 1), dtype=np.uint8), 3, axis=2) for _ in range(NUM_FRAMES)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=12, options={"qp": "0"})  # lossless
        stream.width, stream.height, stream.pix_fmt = SIZE, SIZE, "yuv420p"
        for k in range(NUM_FRAMES * STRIDE):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pictures[k // STRIDE], format="rgb24")))
        container.mux(stream.encode())
    return path


def validation_logits(model_dir: Path, video: Path) -> dict[str, float]:
    """The model's logits on the clip the fine-tuning script validates with (centre clip, stride STRIDE)."""
    from transformers import AutoModelForVideoClassification

    model = AutoModelForVideoClassification.from_pretrained(model_dir).eval()
    pixel_values = eval_view_transform(SIZE, NUM_FRAMES, STRIDE).process(str(video))["pixel_values"]
    with torch.no_grad():
        logits = model(pixel_values=pixel_values).logits[0]
    return {model.config.id2label[i]: float(v) for i, v in enumerate(logits)}


def as_dict(outputs: list[dict]) -> dict[str, float]:
    return {o["label"]: o["score"] for o in outputs}


def test_saved_classifier_records_the_frame_stride(finetuned: Path) -> None:
    config = json.loads((finetuned / "config.json").read_text())
    assert (config["frame_stride"], config["num_frames"], config["model_type"]) == (STRIDE, NUM_FRAMES, "videomae")


def test_pipeline_samples_frames_as_the_model_was_trained(finetuned: Path, held_video: Path) -> None:
    pipe = video_classification_pipeline(finetuned)
    # The image-processor path (the one that honours frame_sampling_rate; see mgm_hf.hub.video_pipeline).
    assert pipe.video_processor is None and pipe.image_processor is not None
    got = as_dict(pipe(str(held_video), function_to_apply="none", top_k=len(LABELS)))
    expected = validation_logits(finetuned, held_video)
    assert got.keys() == expected.keys() == set(LABELS.values())
    assert got == pytest.approx(expected, abs=1e-4)
    # Consecutive frames (the pipeline's default) give another clip, so the stride above mattered.
    from transformers import pipeline

    consecutive = as_dict(pipeline("video-classification", model=str(finetuned))(
        str(held_video), function_to_apply="none", top_k=len(LABELS)))
    assert max(abs(consecutive[k] - expected[k]) for k in expected) > 1e-2
    # Probabilities by default, over the class names of the config.
    scores = pipe(str(held_video), top_k=len(LABELS))
    assert sum(s["score"] for s in scores) == pytest.approx(1.0, abs=1e-5)


def test_pipeline_refuses_a_model_without_a_recorded_stride(finetuned: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForVideoClassification

    model = AutoModelForVideoClassification.from_pretrained(finetuned)
    del model.config.frame_stride
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="frame_sampling_rate"):
        video_classification_pipeline(tmp_path)
