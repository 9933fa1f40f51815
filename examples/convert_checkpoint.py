#!/usr/bin/env python
"""Converts an official VideoMAE / MGMAE pretraining checkpoint (.pth) into an mgm_hf model folder.

    python examples/convert_checkpoint.py --checkpoint videomae_vitb_k400_1600e.pth \
        --output_dir mgm-vitb-k400 --image_size 224 --num_frames 16 --masking tube

The file is read with ``torch.load(weights_only=True)``; every key must map onto the model and
every model weight must be filled, otherwise it stops and lists the offending keys. The output is
``save_pretrained`` (safetensors + config with the masking strategy) plus the image processor config.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mgm_hf import MGMVideoMAE, MGMVideoMAEConfig
from mgm_hf.hub import save_image_processor
from mgm_hf.masking import available_masking_strategies
from mgm_hf.models.conversion import convert_checkpoint, infer_config_kwargs, load_official_state_dict
from mgm_hf.training.runtime.output_dir import check_output_dir, prepare_output_dir
from mgm_hf.training.runtime.summary import command, outputs_report, sibling_folder


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="official .pth file")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--overwrite_output_dir", action="store_true",
                        help="replace the model already in --output_dir (without it, such a folder is refused)")
    parser.add_argument("--image_size", type=int, default=224, help="not stored in the checkpoint")
    parser.add_argument("--num_frames", type=int, default=16, help="not stored in the checkpoint")
    parser.add_argument("--head_dim", type=int, default=64, help="attention head width (ViT: 64)")
    parser.add_argument("--masking", default="tube", choices=available_masking_strategies(),
                        help="strategy recorded in the config (VideoMAE: tube, MGMAE: mgmae)")
    parser.add_argument("--mask_ratio", type=float, default=0.9)
    parser.add_argument("--no_norm_pix_loss", action="store_true", help="the run used raw-pixel targets")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f"--checkpoint {args.checkpoint}: no such file ({Path(args.checkpoint).resolve()}).")
    check_output_dir(args.output_dir, overwrite=args.overwrite_output_dir)  # before the slow part
    official = load_official_state_dict(args.checkpoint)
    config = MGMVideoMAEConfig(
        **infer_config_kwargs(official, head_dim=args.head_dim),
        image_size=args.image_size, num_frames=args.num_frames, norm_pix_loss=not args.no_norm_pix_loss,
        masking={"name": args.masking, "mask_ratio": args.mask_ratio},
    )
    model = convert_checkpoint(official, MGMVideoMAE(config))
    prepare_output_dir(None, args.output_dir, overwrite=args.overwrite_output_dir)  # clears an old model only now
    model.save_pretrained(args.output_dir, safe_serialization=True)
    save_image_processor(args.output_dir, config)
    print(f"Converted {len(official)} tensors into {args.output_dir} ({config.num_hidden_layers} layers, "
          f"hidden {config.hidden_size}, masking {config.masking}).")
    print(outputs_report("Conversion finished", args.output_dir, {
        "model.safetensors": "weights (MGMVideoMAE.from_pretrained)",
        "config.json": "model config with the masking strategy recorded",
        "preprocessor_config.json": "VideoMAEImageProcessor for this input size",
    }, [command("finetune.py", "--model_name_or_path", args.output_dir, "--output_dir",
                sibling_folder(args.output_dir, "finetune")),
        command("linear_probe.py", "--model_name_or_path", args.output_dir, "--output_dir",
                sibling_folder(args.output_dir, "linear_probe"))]))


if __name__ == "__main__":
    main()
