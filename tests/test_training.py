"""Training building blocks: parameter groups, layer decay, drop path, seeded order, mixup, top-k."""

from __future__ import annotations

import pytest
import torch
from transformers import VideoMAEConfig, VideoMAEForVideoClassification

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.training.classifier_eval import topk_accuracy
from mgm_hf.training.recipe.drop_path import add_drop_path
from mgm_hf.training.recipe.mixup import VideoMixup
from mgm_hf.training.recipe.optim import build_adamw, param_groups, scaled_lr
from mgm_hf.training.sampling import EpochSampler, SeededDataset

TINY = dict(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=3,
            num_attention_heads=2, intermediate_size=64)


def classifier() -> VideoMAEForVideoClassification:
    return VideoMAEForVideoClassification(VideoMAEConfig(**TINY, num_labels=5, use_mean_pooling=True))


def test_no_weight_decay_on_bias_norm_and_tokens() -> None:
    model = MGMVideoMAE(MGMVideoMAEConfig.from_preset("tiny", image_size=32, num_frames=4))
    groups = param_groups(model, weight_decay=0.05)
    decayed = {n for g in groups if g["weight_decay"] > 0 for n in g["names"]}
    plain = {n for g in groups if g["weight_decay"] == 0 for n in g["names"]}
    assert "mask_token" in plain and all(not n.endswith(".bias") for n in decayed)
    assert any("layernorm" in n for n in plain) and not any("layernorm" in n for n in decayed)
    assert "videomae.encoder.layer.0.attention.attention.query.weight" in decayed
    assert decayed | plain == {n for n, p in model.named_parameters()}
    assert scaled_lr(1.5e-4, 512) == pytest.approx(3e-4)


def test_layer_decay_scales_lr_by_depth() -> None:
    model = classifier()
    optimizer = build_adamw(param_groups(model, 0.05, layer_decay=0.5), lr=1.0)
    lr_of = {}
    for group, named in zip(optimizer.param_groups, param_groups(model, 0.05, layer_decay=0.5)):
        for name in named["names"]:
            lr_of[name] = group["lr"]
    n = 3
    assert lr_of["videomae.embeddings.patch_embeddings.projection.weight"] == pytest.approx(0.5 ** (n + 1))
    assert lr_of["videomae.encoder.layer.0.intermediate.dense.weight"] == pytest.approx(0.5**n)
    assert lr_of["videomae.encoder.layer.2.output.dense.bias"] == pytest.approx(0.5)
    assert lr_of["classifier.weight"] == pytest.approx(1.0) and lr_of["fc_norm.weight"] == pytest.approx(1.0)


def test_drop_path_drops_residual_branches_in_training_only() -> None:
    model = classifier()
    names = list(model.state_dict())
    x = torch.randn(16, 4, 3, 32, 32)
    model.eval()
    before = model(pixel_values=x).logits
    rates = add_drop_path(model.videomae.encoder.layer, 0.99 * 0.5)
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.495)
    assert list(model.state_dict()) == names  # weights and names untouched
    torch.testing.assert_close(model(pixel_values=x).logits, before)  # eval: identity
    model.train()
    torch.manual_seed(0)
    train_a = model(pixel_values=x).logits
    torch.manual_seed(1)
    train_b = model(pixel_values=x).logits
    assert not torch.allclose(train_a, train_b)  # random per-sample branch drops
    # With the hooks at rate ~1 every branch of the last layer is dropped for some samples:
    layer = model.videomae.encoder.layer[-1]
    hidden = torch.randn(8, 10, 32)
    out = layer.output(torch.randn(8, 10, 64), hidden)
    dropped = (out == hidden).flatten(1).all(1)
    assert dropped.any() and not dropped.all()


def test_epoch_sampler_is_seeded_repeats_adjacent_and_seeds_samples() -> None:
    sampler = EpochSampler(10, seed=3, repeats=2)
    first = list(sampler)
    assert len(first) == 20 and first == list(sampler)
    assert [i for i, _ in first[::2]] == [i for i, _ in first[1::2]]  # repeats are adjacent
    assert len({s for _, s in first}) == 20  # every view has its own seed
    sampler.set_epoch(1)
    assert [i for i, _ in sampler] != [i for i, _ in first]



def test_seeded_dataset_hands_the_sample_seed_to_the_transform_as_data() -> None:
    import datasets

    def noise(batch: dict) -> dict:
        """A batch transform drawing from each row's seed, as VideoTransform does."""
        return {"path": batch["path"],
                "noise": [torch.rand(3, generator=torch.Generator().manual_seed(s)) for s in batch["sample_seed"]]}

    rows = datasets.Dataset.from_dict({"path": [f"v{i}.mp4" for i in range(10)]})
    ds = SeededDataset(rows, noise)
    state = torch.get_rng_state()
    row = ds[(4, 123)]
    assert row["path"] == "v4.mp4" and torch.equal(row["noise"], noise({"path": ["v4.mp4"], "sample_seed": [123]})["noise"][0])
    assert torch.equal(ds[(4, 123)]["noise"], row["noise"]) and not torch.equal(ds[(4, 124)]["noise"], row["noise"])
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is neither read nor changed
    with pytest.raises(TypeError, match=r"\(index, sample_seed\) keys"):
        ds[4]
    rows.set_transform(noise)
    with pytest.raises(ValueError, match="without a format or transform"):
        SeededDataset(rows, noise)


def test_mixup_targets_sum_to_one_and_cutmix_is_the_same_box_in_every_frame() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 4, 3, 16, 16)
    labels = torch.tensor([0, 1, 2, 3])
    mixed, targets = VideoMixup(5, mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.1)(x, labels)
    torch.testing.assert_close(targets.sum(1), torch.ones(4))
    changed = (mixed != x).any(2)  # (B, T, H, W)
    assert torch.equal(changed, changed[:, :1].expand_as(changed))
    plain, smooth = VideoMixup(5, mixup_alpha=0.0, cutmix_alpha=0.0, label_smoothing=0.1)(x, labels)
    assert torch.equal(plain, x) and smooth[0, 0] == pytest.approx(0.92)


def test_topk_accuracy() -> None:
    scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    assert topk_accuracy(scores, torch.tensor([1, 1, 0]), ks=(1, 2)) == {"top1": pytest.approx(1 / 3),
                                                                          "top2": pytest.approx(2 / 3)}


def test_run_card_template_is_package_data() -> None:
    from importlib import resources
    from pathlib import Path

    from mgm_hf.hub.model_card import find_template

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    template = resources.files("mgm_hf.hub").joinpath("templates", "pretrained_model.md")
    assert template.is_file() and "${masking_name}" in template.read_text(encoding="utf-8")
    assert find_template(None) == template  # the default card needs no checkout
    # ... and setuptools ships it: the package-data glob matches the file.
    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["mgm_hf"]
    shipped = {p for pattern in globs for p in (root / "src" / "mgm_hf").glob(pattern)}
    assert Path(str(template)).resolve() in {p.resolve() for p in shipped}


def test_pictures_unavailable_is_logged_not_silent(tmp_path, caplog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from mgm_hf.training.runtime.pictures import PictureLogger

    monkeypatch.setitem(sys.modules, "mgm_hf.visualization", None)  # import fails
    monkeypatch.delattr("mgm_hf.visualization", raising=False)
    pictures = PictureLogger(str(tmp_path), every=1)
    assert not pictures.available and "pictures are unavailable" in caplog.text
