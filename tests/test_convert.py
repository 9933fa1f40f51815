"""Official VideoMAE checkpoint layout -> MGMVideoMAE: outputs match an independent reference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.models.conversion import ConversionError, convert_checkpoint, infer_config_kwargs

ROOT = Path(__file__).resolve().parents[1]
D, DEPTH, DD, DDEPTH, MLP, DMLP, P, TUB, T, S = 32, 2, 16, 1, 64, 32, 8, 2, 4, 16


def _block(prefix: str, dim: int, mlp: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    r = lambda *shape: torch.randn(*shape, generator=g) * 0.2  # noqa: E731
    return {
        f"{prefix}.norm1.weight": 1 + r(dim), f"{prefix}.norm1.bias": r(dim),
        f"{prefix}.attn.qkv.weight": r(3 * dim, dim), f"{prefix}.attn.q_bias": r(dim),
        f"{prefix}.attn.v_bias": r(dim), f"{prefix}.attn.proj.weight": r(dim, dim),
        f"{prefix}.attn.proj.bias": r(dim), f"{prefix}.norm2.weight": 1 + r(dim),
        f"{prefix}.norm2.bias": r(dim), f"{prefix}.mlp.fc1.weight": r(mlp, dim),
        f"{prefix}.mlp.fc1.bias": r(mlp), f"{prefix}.mlp.fc2.weight": r(dim, mlp), f"{prefix}.mlp.fc2.bias": r(dim),
    }


def official_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors in MCG-NJU/VideoMAE's modeling_pretrain.py layout, for a tiny model."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g) * 0.2  # noqa: E731
    sd = {"encoder.patch_embed.proj.weight": r(D, 3, TUB, P, P), "encoder.patch_embed.proj.bias": r(D)}
    for i in range(DEPTH):
        sd.update(_block(f"encoder.blocks.{i}", D, MLP, g))
    sd.update({"encoder.norm.weight": 1 + r(D), "encoder.norm.bias": r(D), "encoder_to_decoder.weight": r(DD, D),
               "mask_token": r(1, 1, DD)})
    for i in range(DDEPTH):
        sd.update(_block(f"decoder.blocks.{i}", DD, DMLP, g))
    sd.update({"decoder.norm.weight": 1 + r(DD), "decoder.norm.bias": r(DD),
               "decoder.head.weight": r(3 * TUB * P * P, DD), "decoder.head.bias": r(3 * TUB * P * P)})
    return sd


def reference_block(x: torch.Tensor, sd: dict[str, torch.Tensor], prefix: str, heads: int) -> torch.Tensor:
    """The official Block.forward (no layer scale), written with functional ops."""
    B, N, C = x.shape
    h = F.layer_norm(x, (C,), sd[f"{prefix}.norm1.weight"], sd[f"{prefix}.norm1.bias"], eps=1e-6)
    bias = torch.cat([sd[f"{prefix}.attn.q_bias"], torch.zeros(C), sd[f"{prefix}.attn.v_bias"]])
    qkv = F.linear(h, sd[f"{prefix}.attn.qkv.weight"], bias).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = ((q * (C // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
    h = (attn @ v).transpose(1, 2).reshape(B, N, C)
    x = x + F.linear(h, sd[f"{prefix}.attn.proj.weight"], sd[f"{prefix}.attn.proj.bias"])
    h = F.layer_norm(x, (C,), sd[f"{prefix}.norm2.weight"], sd[f"{prefix}.norm2.bias"], eps=1e-6)
    h = F.linear(F.gelu(F.linear(h, sd[f"{prefix}.mlp.fc1.weight"], sd[f"{prefix}.mlp.fc1.bias"])),
                 sd[f"{prefix}.mlp.fc2.weight"], sd[f"{prefix}.mlp.fc2.bias"])
    return x + h


def reference_logits(sd, pixel_values, mask, pos_enc, pos_dec, heads, dheads, decoder_eps):  # type: ignore[no-untyped-def]
    """Official PretrainVisionTransformer.forward: encode visible tokens, decode masked ones."""
    x = F.conv3d(pixel_values.permute(0, 2, 1, 3, 4), sd["encoder.patch_embed.proj.weight"],
                 sd["encoder.patch_embed.proj.bias"], stride=(TUB, P, P)).flatten(2).transpose(1, 2)
    x = x + pos_enc
    B, _, C = x.shape
    x = x[~mask].reshape(B, -1, C)
    for i in range(DEPTH):
        x = reference_block(x, sd, f"encoder.blocks.{i}", heads)
    x = F.layer_norm(x, (C,), sd["encoder.norm.weight"], sd["encoder.norm.bias"], eps=1e-6)
    x = F.linear(x, sd["encoder_to_decoder.weight"])
    pos = pos_dec.expand(B, -1, -1)
    vis, msk = pos[~mask].reshape(B, -1, DD), pos[mask].reshape(B, -1, DD)
    x = torch.cat([x + vis, sd["mask_token"] + msk], dim=1)
    for i in range(DDEPTH):
        x = reference_block(x, sd, f"decoder.blocks.{i}", dheads)
    x = x[:, -msk.shape[1]:]
    x = F.layer_norm(x, (DD,), sd["decoder.norm.weight"], sd["decoder.norm.bias"], eps=decoder_eps)
    return F.linear(x, sd["decoder.head.weight"], sd["decoder.head.bias"])


def make_model(sd: dict[str, torch.Tensor]) -> MGMVideoMAE:
    config = MGMVideoMAEConfig(**infer_config_kwargs(sd, head_dim=16), image_size=S, num_frames=T,
                               masking={"name": "tube", "mask_ratio": 0.75})
    return MGMVideoMAE(config)


def test_converted_model_matches_independent_reference() -> None:
    sd = official_state_dict()
    model = convert_checkpoint(dict(sd), make_model(sd)).eval()
    assert model.config.num_hidden_layers == DEPTH and model.config.decoder_num_hidden_layers == DDEPTH
    pixel_values = torch.randn(2, T, 3, S, S, generator=torch.Generator().manual_seed(1))
    mask = model.masking_strategy(2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = model(pixel_values, bool_masked_pos=mask).logits
        expected = reference_logits(
            sd, pixel_values, mask, model.videomae.embeddings.position_embeddings, model.position_embeddings,
            D // 16, DD // 16, model.decoder.norm.eps,
        )
    assert logits.shape == expected.shape
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-4)


def test_leftover_and_missing_keys_raise() -> None:
    sd = official_state_dict()
    extra = {**sd, "encoder.blocks.0.gamma_1": torch.ones(D)}  # layer scale: not in transformers' VideoMAE
    with pytest.raises(ConversionError, match="gamma_1"):
        convert_checkpoint(extra, make_model(sd))
    missing = {k: v for k, v in sd.items() if k != "decoder.head.bias"}
    with pytest.raises(ConversionError, match=r"decoder\.head\.bias"):
        convert_checkpoint(missing, make_model(sd))
    wrong = {**sd, "encoder.pos_embed": torch.zeros(1, 4, D)}
    with pytest.raises(ConversionError, match="pos_embed"):
        convert_checkpoint(wrong, make_model(sd))


def test_convert_script_writes_a_loadable_folder(tmp_path: Path) -> None:
    sd = official_state_dict()
    torch.save({"model": sd}, tmp_path / "official.pth")
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "convert_checkpoint.py"), "--checkpoint", str(tmp_path / "official.pth"),
         "--output_dir", str(tmp_path / "out"), "--image_size", str(S), "--num_frames", str(T), "--head_dim", "16"],
        check=True, capture_output=True,
    )
    loaded = MGMVideoMAE.from_pretrained(tmp_path / "out")
    torch.testing.assert_close(loaded.videomae.encoder.layer[1].attention.attention.key.weight,
                               sd["encoder.blocks.1.attn.qkv.weight"][D:2 * D])
    assert (tmp_path / "out" / "preprocessor_config.json").is_file()
    assert loaded.config.masking["name"] == "tube"
