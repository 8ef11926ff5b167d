"""Command line: `python -m dataset_builders.msmu build --source synthetic --output DIR` (or `msmu-build`).

The flags are the fields of `BuildConfig` (`--num-scenes` / `--num_scenes`, `--no-progress`, ...).

>>> config = parse_build_args(["build", "--output", "out", "--width", "64", "--height", "48"])
>>> config.source, config.width, config.height, config.num_proc
('synthetic', 64, 48, 1)
"""

import logging
import sys

from transformers import HfArgumentParser

from .builder import build_msmu
from .config import BuildConfig


def build_parser() -> HfArgumentParser:
    return HfArgumentParser(BuildConfig, prog="python -m dataset_builders.msmu build",
                            description="build an MSMU dataset folder that load_dataset(folder) reads")


def parse_build_args(argv) -> BuildConfig:
    """`build` followed by `BuildConfig` flags -> the config (argparse exits on bad flags)."""
    argv = list(argv)
    if not argv or argv[0] != "build":
        build_parser().error("the first argument must be the command 'build'")
    (config,) = build_parser().parse_args_into_dataclasses(args=argv[1:])
    return config


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        build_msmu(config=parse_build_args(argv))
    except (ValueError, FileExistsError, FileNotFoundError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["build_parser", "parse_build_args", "main"]
