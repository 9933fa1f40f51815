"""The ``mgm-hf`` console script. Each subcommand lives in its own module, imported only when used."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help). The module defines add_arguments(parser) and run(args) -> int.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("mgm_hf.data.prepare", "transcode a folder of videos to H.264 so motion vectors exist"),
    "visualize": ("mgm_hf.visualization.cli", "draw frames, motion, mask and reconstruction for a video"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mgm-hf", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text)
        sub.set_defaults(_module=module_name)
        # Arguments are added lazily in main() for the chosen command only.
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
        sub = argparse.ArgumentParser(prog=f"mgm-hf {argv[0]}", description=SUBCOMMANDS[argv[0]][1])
        module.add_arguments(sub)
        return int(module.run(sub.parse_args(argv[1:])) or 0)
    parser.parse_args(argv)  # prints usage / errors for unknown commands
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
