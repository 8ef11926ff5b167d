"""Synthetic MSMU build speed: frames per second, end to end (render, visibility, questions, PNG
encoding, parquet), for each image size.

    python benchmarks/bench_synthetic.py --frames 1000 --num-proc 2 --sizes 320x240 96x96 64x64

Target (issue 3): 1,000 frames in under 2 minutes on 2 cores.
"""

import argparse
import tempfile
import time
from pathlib import Path

from dataset_builders.msmu import build_msmu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--frames-per-scene", type=int, default=4)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--qa-per-frame", type=int, default=12)
    parser.add_argument("--sizes", nargs="+", default=["320x240", "64x64"], help="WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    scenes = -(-args.frames // args.frames_per_scene)
    for size in args.sizes:
        width, height = (int(v) for v in size.lower().split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            out = build_msmu(
                "synthetic",
                Path(tmp) / "msmu",
                num_scenes=scenes,
                image_size=(width, height),
                frames_per_scene=args.frames_per_scene,
                qa_per_frame=args.qa_per_frame,
                num_proc=args.num_proc,
                progress=False,
                verbose=False,
            )
            seconds = time.perf_counter() - start
            megabytes = sum(p.stat().st_size for p in out.rglob("*.parquet")) / 2**20
        frames = scenes * args.frames_per_scene
        print(
            f"{width}x{height}: {frames} frames in {seconds:.1f} s = {frames / seconds:.1f} frames/s "
            f"(num_proc={args.num_proc}, {args.qa_per_frame} questions/frame, {megabytes:.1f} MiB parquet); "
            f"target 1000 frames < 120 s: {'met' if seconds * 1000 / frames < 120 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()

__all__ = ["main"]
