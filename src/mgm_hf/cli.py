"""The ``mgm-hf`` console script. Each subcommand lives in its own module, imported only when used.

Options are snake_case (``--mask_ratio``), like the example scripts and transformers' and
accelerate's. The kebab-case spellings of earlier versions (``--mask-ratio``) still work as hidden,
deprecated aliases: they log a warning naming the new spelling.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from mgm_hf import __version__

logger = logging.getLogger(__name__)

# subcommand -> (module, one-line help). The module defines add_arguments(parser) and run(args) -> int.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("mgm_hf.data.prepare", "transcode a folder of videos to H.264 so motion vectors exist"),
    "visualize": ("mgm_hf.visualization.cli", "draw frames, motion, mask and reconstruction for a video"),
    "env": ("mgm_hf.environment", "print the versions and codec support a bug report needs"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mgm-hf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mgm-hf {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text)
        sub.set_defaults(_module=module_name)
        # Arguments are added lazily in main() for the chosen command only.
    return parser


def snake_case_options(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``argv`` with each deprecated ``--kebab-case`` spelling of one of ``parser``'s ``--snake_case``
    options (also ``--kebab-case=value``) replaced by the snake_case one, logging a warning for each.
    Tokens after ``--`` and spellings of no option are left for argparse to judge."""
    known = {option for action in parser._actions for option in action.option_strings}  # no public listing
    out: list[str] = []
    for position, token in enumerate(argv):
        if token == "--":
            return out + argv[position:]
        name, equals, value = token.partition("=")
        snake = "--" + name[2:].replace("-", "_")
        if name.startswith("--") and name not in known and snake in known:
            logger.warning("%s is deprecated: use %s (mgm-hf options are snake_case, like the example scripts').",
                           name, snake)
            token = snake + equals + value
        out.append(token)
    return out


def _configure_logging() -> None:
    """mgm_hf's INFO messages (hints, deprecations) on stderr; other libraries at WARNING. Leaves a
    logging setup the caller already has alone."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    package = logging.getLogger("mgm_hf")
    if package.level == logging.NOTSET:
        package.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _configure_logging()
    parser = build_parser()
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
        sub = argparse.ArgumentParser(prog=f"mgm-hf {argv[0]}", description=SUBCOMMANDS[argv[0]][1])
        module.add_arguments(sub)
        return int(module.run(sub.parse_args(snake_case_options(sub, argv[1:]))) or 0)
    parser.parse_args(argv)  # --version, --help, and usage / errors for unknown commands
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
