"""Command line: `python -m dataset_builders.msmu build --source synthetic --output DIR` (or `msmu-build`).

>>> args = build_parser().parse_args(["build", "--output", "out", "--width", "64", "--height", "48"])
>>> args.source, args.width, args.height, args.num_proc
('synthetic', 64, 48, 1)
"""

import argparse
import logging
import sys

from .builder import build_msmu
from .questions import KIND_NAMES
from .sources import SOURCES
from .templates import CATEGORY_NAMES
from .visibility import VisibilityConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dataset_builders.msmu", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build an MSMU dataset folder that load_dataset(folder) reads")
    build.add_argument("--source", choices=SOURCES, default="synthetic")
    build.add_argument("--output", required=True, help="folder to create")
    build.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    build.add_argument("--num-scenes", type=int, default=None, help="synthetic: rooms to generate (default 10); scannet: first N scenes")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--width", type=int, default=320, help="synthetic image width")
    build.add_argument("--height", type=int, default=240, help="synthetic image height")
    build.add_argument(
        "--frames-per-scene", type=int, default=None,
        help="synthetic: views per room (default 4); scannet: most frames per scene, spread evenly",
    )  # fmt: skip
    build.add_argument("--num-proc", type=int, default=1, help="processes over scenes (same result for any value)")
    build.add_argument("--test-fraction", type=float, default=0.2, help="share of scenes in the test split")
    build.add_argument("--qa-per-frame", type=int, default=12)
    build.add_argument("--decimals", type=int, default=2, help="rounding of answers in meters (1 to 6 decimals)")
    build.add_argument(
        "--distance-modes", nargs="+", choices=("center", "closest"), default=["center", "closest"],
        help="distance questions between centers and/or closest points (each question says which)",
    )  # fmt: skip
    build.add_argument("--cot", action="store_true", help="template chain-of-thought answers in conversations")
    build.add_argument(
        "--categories", default=None, metavar="A,B",
        help=f"generate only these question categories, comma-separated (default all): {','.join(CATEGORY_NAMES)}",
    )  # fmt: skip
    build.add_argument(
        "--question-kinds", default=None, metavar="C.K,...",
        help=f"only these sub-kinds of their categories, comma-separated (default all): {','.join(KIND_NAMES)}",
    )  # fmt: skip
    defaults = VisibilityConfig()
    build.add_argument("--min-area", type=float, default=defaults.min_area, help="visible mask area / image area")
    build.add_argument("--min-pixels", type=int, default=defaults.min_pixels)
    build.add_argument("--max-truncation", type=float, default=defaults.max_truncation)
    build.add_argument("--max-occlusion", type=float, default=defaults.max_occlusion)
    build.add_argument("--skip-bad-scenes", action="store_true", help="log and skip missing or corrupt scenes")
    build.add_argument("--scannet-root", default=None, help="scannet: folder of exported scans")
    build.add_argument("--data-dir", default=None, help="released: folder with the authors' train/test parquet")
    build.add_argument("--no-progress", action="store_true")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        build_msmu(
            source=args.source,
            output_dir=args.output,
            num_scenes=args.num_scenes,
            seed=args.seed,
            image_size=(args.width, args.height),
            frames_per_scene=args.frames_per_scene,
            num_proc=args.num_proc,
            test_fraction=args.test_fraction,
            qa_per_frame=args.qa_per_frame,
            decimals=args.decimals,
            distance_modes=tuple(args.distance_modes),
            cot=args.cot,
            categories=args.categories,
            question_kinds=args.question_kinds,
            visibility=VisibilityConfig(
                min_area=args.min_area,
                min_pixels=args.min_pixels,
                max_truncation=args.max_truncation,
                max_occlusion=args.max_occlusion,
            ),
            skip_bad_scenes=args.skip_bad_scenes,
            scannet_root=args.scannet_root,
            data_dir=args.data_dir,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    except (ValueError, FileExistsError, FileNotFoundError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["build_parser", "main"]
