"""Contract tests shared by every registered masking strategy (one class, parametrised by name)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from mgm_hf.masking import (
    MaskGeometry,
    MaskingStrategy,
    available_masking_strategies,
    build_masking_strategy,
    get_masking_strategy_class,
    register_masking_strategy,
)

SIZES = {"num_frames": 8, "image_size": 64, "patch_size": 8, "tubelet_size": 2}
GEOMETRY = MaskGeometry(**SIZES)
STEPS, H, W = GEOMETRY.token_grid  # 4, 8, 8
L = GEOMETRY.seq_length  # 256


def smooth_motion(batch: int, grid: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """(B, 8, h_m, w_m, 2) motion in pixels: a random translation per frame plus a moving bump."""
    g = torch.Generator().manual_seed(seed)
    shift = (torch.rand(batch, 8, 1, 1, 2, generator=g) - 0.5) * 6
    ys = torch.linspace(0, 1, grid[0]).view(-1, 1)
    xs = torch.linspace(0, 1, grid[1]).view(1, -1)
    centre = torch.rand(batch, 1, 1, 1, 2, generator=g)
    bump = torch.exp(-((xs - centre[..., 0]) ** 2 + (ys - centre[..., 1]) ** 2) * 20)
    return shift + 5 * bump.unsqueeze(-1)


MOTION = smooth_motion(4, (8, 8))  # the 8-px motion-vector grid of a 64 x 64 frame


def make(name: str, **options) -> MaskingStrategy:
    return build_masking_strategy({"name": name, **options}, **SIZES)


def call(strategy: MaskingStrategy, seed: int = 0, motion: torch.Tensor | None = MOTION, batch: int = 4,
         device: str = "cpu") -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return strategy(batch, motion=None if motion is None else motion.to(device), generator=generator,
                    device=device)


@pytest.fixture(params=available_masking_strategies())
def name(request) -> str:
    return request.param


class TestEveryStrategy:
    def test_all_five_are_registered(self):
        assert {"random", "tube", "smm", "mgm", "mgmae"} <= set(available_masking_strategies())

    def test_shape_and_dtype(self, name):
        mask = call(make(name))
        assert mask.shape == (4, L)
        assert mask.dtype == torch.bool

    def test_every_row_has_num_masked(self, name):
        strategy = make(name)
        mask = call(strategy)
        assert mask.sum(dim=1).tolist() == [strategy.num_masked] * 4

    @pytest.mark.parametrize("ratio", [0.5, 0.75, 0.9, 0.29])
    def test_ratio_close_to_asked(self, name, ratio):
        strategy = make(name, mask_ratio=ratio)
        masked = call(strategy).sum(dim=1).float() / L
        # per-frame strategies round per frame: at most one token per time step below the ratio, or,
        # mgmae rounding the visible count down (floor((1 - ratio) h w), its default), above it
        assert ((ratio - masked).abs() <= STEPS / L + 1e-6).all()
        if getattr(strategy, "visible_count", None) == "floor_visible":
            assert (masked >= ratio - 1e-6).all()
        else:
            assert (masked <= ratio + 1e-6).all()

    def test_counts_are_not_rounded_down_by_float_error(self, name):
        cls = get_masking_strategy_class(name)
        assert cls.masked_count(0.29, 100) == 29  # 0.29 * 100 == 28.999999999999996
        assert cls.masked_count(0.7, 10) == 7
        assert cls.masked_count(0.9, 196) == 176

    def test_same_seed_same_mask(self, name):
        strategy = make(name)
        assert torch.equal(call(strategy, seed=3), call(strategy, seed=3))

    def test_different_seeds_differ(self, name):
        strategy = make(name)
        assert not torch.equal(call(strategy, seed=1, batch=4), call(strategy, seed=2, batch=4))

    def test_to_dict_from_dict_json_round_trip(self, name):
        strategy = make(name, mask_ratio=0.8)
        config = strategy.to_dict()
        assert config["name"] == name and config["mask_ratio"] == 0.8
        rebuilt = build_masking_strategy(json.loads(json.dumps(config)), **SIZES)
        assert rebuilt == strategy
        assert rebuilt.to_dict() == config
        assert type(strategy).from_dict(config, GEOMETRY) == strategy
        assert torch.equal(call(rebuilt, seed=5), call(strategy, seed=5))

    def test_build_from_model_like_config(self, name):
        config = SimpleNamespace(**SIZES, masking={"name": name, "mask_ratio": 0.75})
        strategy = build_masking_strategy(config)
        assert isinstance(strategy, get_masking_strategy_class(name))
        assert strategy.geometry == GEOMETRY and strategy.mask_ratio == 0.75

    def test_unknown_option_is_rejected_with_the_valid_ones(self, name):
        with pytest.raises(ValueError, match=r"Unknown option.*not_an_option.*valid options"):
            make(name, not_an_option=1)

    @pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1, 1.5, "0.5", None, True])
    def test_invalid_ratio(self, name, ratio):
        with pytest.raises(ValueError, match="mask_ratio"):
            make(name, mask_ratio=ratio)

    def test_device_cpu(self, name):
        mask = call(make(name), device="cpu")
        assert mask.device.type == "cpu"

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
    def test_same_seed_same_mask_on_gpu(self, name):
        strategy = make(name)
        cpu = call(strategy, seed=7, device="cpu")
        gpu = call(strategy, seed=7, device="cuda")
        assert gpu.device.type == "cuda"
        assert torch.equal(cpu, gpu.cpu())

    @pytest.mark.parametrize("grid", [(8, 8), (64, 64), (5, 7), (16, 32)])
    def test_motion_on_any_grid(self, name, grid):
        strategy = make(name)
        mask = call(strategy, motion=smooth_motion(4, grid))
        assert mask.shape == (4, L)
        assert mask.sum(dim=1).tolist() == [strategy.num_masked] * 4

    @pytest.mark.parametrize("sizes", [
        {"num_frames": 4, "image_size": (64, 96), "patch_size": 16, "tubelet_size": 1},
        {"num_frames": 6, "image_size": (48, 32), "patch_size": 8, "tubelet_size": 3},
    ])
    def test_other_geometries(self, name, sizes):
        strategy = build_masking_strategy({"name": name, "mask_ratio": 0.75}, **sizes)
        height, width = sizes["image_size"]
        motion = smooth_motion(2, (height // 8, width // 8))[:, : sizes["num_frames"]]
        mask = strategy(2, motion=motion, generator=torch.Generator().manual_seed(0))
        assert mask.shape == (2, strategy.geometry.seq_length)
        assert mask.sum(dim=1).tolist() == [strategy.num_masked] * 2

    def test_single_clip_motion_without_batch_dim(self, name):
        mask = make(name)(1, motion=MOTION[0], generator=torch.Generator().manual_seed(0))
        assert mask.shape == (1, L)

    def test_motion_with_wrong_frame_count_is_rejected(self, name):
        with pytest.raises(ValueError, match="frames"):
            call(make(name), motion=smooth_motion(4, (8, 8))[:, :6])

    def test_motion_with_wrong_batch_is_rejected(self, name):
        with pytest.raises(ValueError, match="batch"):
            call(make(name), motion=MOTION, batch=3)

    def test_needs_motion_only_if_it_says_so(self, name):
        strategy = make(name)
        if strategy.requires_motion:
            with pytest.raises(ValueError, match="needs motion"):
                call(strategy, motion=None)
        else:
            assert call(strategy, motion=None).shape == (4, L)

    def test_repr_names_the_options(self, name):
        assert "mask_ratio=0.9" in repr(make(name))


class TestRegistry:
    def test_duplicate_name_is_rejected(self):
        class Another(MaskingStrategy):
            def _generate(self, batch_size, motion, generator, device):
                raise NotImplementedError

        with pytest.raises(ValueError, match="already registered"):
            register_masking_strategy("tube")(Another)
        assert get_masking_strategy_class("tube").__name__ == "TubeMasking"

    def test_non_strategy_is_rejected(self):
        with pytest.raises(TypeError, match="not a MaskingStrategy"):
            register_masking_strategy("not_a_strategy")(dict)
        assert "not_a_strategy" not in available_masking_strategies()

    def test_unknown_name_lists_the_available_ones(self):
        with pytest.raises(ValueError, match=r"Unknown masking strategy 'nope'.*mgmae"):
            build_masking_strategy({"name": "nope"}, **SIZES)

    def test_missing_name_and_missing_sizes(self):
        with pytest.raises(ValueError, match="needs a 'name'"):
            build_masking_strategy({"mask_ratio": 0.9}, **SIZES)
        with pytest.raises(ValueError, match="missing"):
            build_masking_strategy({"name": "tube"}, num_frames=8)

    def test_config_name_must_match_class(self):
        with pytest.raises(ValueError, match="names strategy"):
            get_masking_strategy_class("tube").from_dict({"name": "random"}, GEOMETRY)


BAD_OPTIONS = [
    ("smm", "velocity", "sideways"),
    ("smm", "count", "video"),
    ("smm", "max_speed", -1.0),
    ("smm", "scale_jitter", 1.5),
    ("smm", "scale_jitter", 0.1),  # with count="frame" below: the jitter would have no effect
    ("mgm", "top_k", 0),
    ("mgm", "top_k", 1.5),
    ("mgm", "no_motion", "skip"),
    ("mgm", "tubelet_reduce", "sum"),
    ("mgm", "size_jitter", -0.1),
    ("mgm", "count", "video"),
    ("mgm", "initial_position", "centre"),
    ("mgm", "motion_block", -8),
    ("mgm", "motion_block", 8.5),
    ("mgm", "flow_method", 3),
    ("mgmae", "flow_method", 3),
    ("mgmae", "base_frame", "last"),
    ("mgmae", "initial_map", "gaussian"),
    ("mgmae", "warp", "sideways"),
    ("mgmae", "hole_fill", "zero"),
    ("mgmae", "top_k", "token"),
    ("mgmae", "visible_count", "round"),
    ("mgmae", "gaussian_combine", "mean"),
    ("mgmae", "gaussian_sigma", 0.0),
    ("mgmae", "exposure_std", -1.0),
    ("mgmae", "map_stride", 3),
    ("mgmae", "inverse_flow_iters", -1),
]


@pytest.mark.parametrize(("strategy", "option", "value"), BAD_OPTIONS)
def test_bad_option_values_name_the_option(strategy, option, value):
    extra = {"count": "frame"} if (strategy, option, value) == ("smm", "scale_jitter", 0.1) else {}
    with pytest.raises(ValueError, match=option):
        make(strategy, **{option: value}, **extra)
