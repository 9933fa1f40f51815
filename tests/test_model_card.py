"""Model cards through ``huggingface_hub`` (``ModelCard``, ``ModelCardData``, ``EvalResult``): what the
run cards and the release cards of ``model_cards/`` say, read back with ``ModelCard.load``; numbers
compared with the run's results file."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from mgm_hf import MGMVideoMAEConfig
from mgm_hf.hub import (
    base_model_id,
    classifier_card,
    record_frame_sampling,
    render_card,
    run_values,
    save_run_files,
)
from mgm_hf.hub.dataset_ids import card_dataset
from mgm_hf.models import MGMVideoMAEForVideoClassification

ROOT = Path(__file__).resolve().parents[1]
SSV2_HUB_ID = "HuggingFaceM4/something_something_v2"


def tiny_config() -> MGMVideoMAEConfig:
    return MGMVideoMAEConfig.from_preset("tiny", image_size=32, num_frames=4, masking={"name": "tube", "mask_ratio": 0.75})


def test_classifier_card_has_the_runs_numbers_in_its_model_index(tmp_path: Path) -> None:
    pretrained = tmp_path / "pretrained"  # a local pretraining run that was pushed as org/pre
    pretrained.mkdir()
    (pretrained / "training_args.json").write_text(json.dumps({"push_to_hub": True, "hub_model_id": "org/pre"}))
    config = MGMVideoMAEForVideoClassification(tiny_config()).config
    config.id2label = {0: "push", 1: "pull"}
    record_frame_sampling(config, 4)
    args = {"dataset_name": "ssv2", "dataset_root": "/data/ssv2", "validation_split": "validation",
            "model_name_or_path": str(pretrained), "hub_model_id": "org/ssv2-classifier", "output_dir": str(tmp_path)}
    save_run_files(tmp_path, args, {"validation": {"top1": 0.6123, "top5": 0.9456, "num_videos": 24},
                                    "train_steps": 7}, config, kind="video-classification")

    measured = json.loads((tmp_path / "all_results.json").read_text())["validation"]
    card = ModelCard.load(tmp_path / "README.md")
    data = card.data
    assert data.library_name == "transformers" and data.pipeline_tag == "video-classification"
    assert data.base_model == "org/pre" and data.datasets == [SSV2_HUB_ID] and data.license == "apache-2.0"
    assert data.model_name == "ssv2-classifier"
    results = {r.metric_type: r for r in data.eval_results}
    assert set(results) == {"accuracy", "top_5_accuracy"}
    assert results["accuracy"].metric_value == measured["top1"]
    assert results["top_5_accuracy"].metric_value == measured["top5"]
    for result in results.values():
        assert (result.task_type, result.dataset_type, result.dataset_name, result.dataset_split) == (
            "video-classification", SSV2_HUB_ID, "Something-Something V2", "validation")
    assert "0.6123" in card.text and "push, pull" in card.text and "${" not in card.content
    assert 'pipeline("video-classification", model="org/ssv2-classifier", frame_sampling_rate=4)' in card.text


def test_classifier_card_needs_the_validation_numbers_and_the_frame_stride() -> None:
    config = MGMVideoMAEForVideoClassification(tiny_config()).config
    with pytest.raises(ValueError, match="top5"):
        classifier_card({"output_dir": "out"}, {"validation": {"top1": 0.5}}, config)
    with pytest.raises(ValueError, match="frame_stride"):  # a card must not tell users a wrong stride
        classifier_card({"output_dir": "out"}, {"validation": {"top1": 0.5, "top5": 1.0}}, config)


def test_pretraining_card_has_no_pipeline_tag_and_its_numbers_in_the_body(tmp_path: Path) -> None:
    config = tiny_config()
    save_run_files(tmp_path, {"dataset_name": "k400", "dataset_root": "/data/k400"},
                   {"train_loss": 0.8765432, "train_steps": 123}, config)
    results = json.loads((tmp_path / "all_results.json").read_text())
    card = ModelCard.load(tmp_path / "README.md")
    data = card.data
    assert data.library_name == "transformers" and data.pipeline_tag is None and data.eval_results is None
    assert "model-index" not in card.data.to_dict() and data.datasets is None  # Kinetics-400 has no Hub id
    assert "masking-tube" in data.tags and "Kinetics-400" in card.text
    assert f"| train_loss | {results['train_loss']:.6g} |" in card.text and "| train_steps | 123 |" in card.text


@pytest.mark.parametrize("name", ["mgm-vitb-k400", "mgm-vitb-ssv2", "mgmae-vitb-k400", "mgmae-vitb-ssv2"])
def test_release_cards_have_hub_metadata_and_labelled_paper_numbers(name: str) -> None:
    card = ModelCard.load(ROOT / "model_cards" / f"{name}.md")
    data = card.data
    dataset = card_dataset(name.rsplit("-", 1)[1])
    assert data.license == "cc-by-nc-4.0" and data.library_name == "transformers" and data.pipeline_tag is None
    assert data.datasets == (dataset.datasets or None) and data.model_name == name
    assert data.eval_results, "model-index with the papers' reported results"
    for result in data.eval_results:
        assert "reported in the paper" in result.metric_name and "not measured" in result.metric_name
        assert 0.6 < result.metric_value < 1.0  # fractions, as in the run cards
        assert result.task_type == "video-classification" and result.source_name and result.source_url
        assert (result.dataset_type, result.dataset_name) == (dataset.type, dataset.name)
    assert "accelerate launch" in card.text and f"--hub_card_template {name}" in card.text
    # A release run renders the same card with its own numbers filled in and the paper's kept.
    rendered = render_card(name, run_values({"seed": 1}, {"train_loss": 0.4242}, tiny_config()))
    assert "0.4242" in rendered.text and "${" not in rendered.content
    assert rendered.data.eval_results == data.eval_results


def test_base_model_is_a_hub_id_or_nothing(tmp_path: Path) -> None:
    assert base_model_id("org/pretrained-on-hub") == "org/pretrained-on-hub"  # no such local folder
    (tmp_path / "training_args.json").write_text(json.dumps({"push_to_hub": False, "hub_model_id": "org/x"}))
    assert base_model_id(str(tmp_path)) is None  # a local run that was not pushed
    assert base_model_id(None) is None


def test_no_module_handles_yaml_itself() -> None:
    # Card metadata is parsed and written by huggingface_hub, nowhere else.
    for path in sorted((ROOT / "src" / "mgm_hf").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "yaml" for n in names), path
