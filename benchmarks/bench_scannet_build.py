"""ScanNet point-splatting build cost on the real sample scene: per-frame CPU-s before/after and
`--num-proc` scaling, with the projection to ScanNet and ScanNet++ scale.

    python benchmarks/bench_scannet_build.py [--scene $SDVLM_SHARED_DATA/scannet_scene0000_00] [--scale 0.5]
        [--copies 4] [--frames-per-scene 20] [--repeats 2]

"before" is the z-buffer this project had until the scatter-min splat: every covered
(point, pixel) pair expanded and lexsorted by (pixel, depth), kept here as the baseline; the run
asserts both give identical depth and label maps on every real frame. The build rows are
`build_msmu(source="scannet", frames_per_scene=20)` over `--copies` scenes made of links to the one
real scene, its 3 posed frames each listed 7 times, so 20 frames a scene are rendered as in a real
build and the per-scene fixed cost (cloud loading, box matching) is spread over as many.
"""

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

import dataset_builders.msmu.sources.scannet as scannet
from dataset_builders.msmu import build_msmu
from dataset_builders.msmu.sources import rasterize

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SDVLM_SHARED_DATA", REPO.parent / "shared" / "data"))  # as tests/conftest.py
SCANNET_FRAMES = 1513 * 20  # ScanNet v2 scenes x frames per scene of the MSMU build
SCANNETPP_FRAMES = 460 * 20  # ScanNet++ (paper) scenes x 20, if exported to the point-cloud layout


def splat_lexsort(points, point_labels, intrinsics, size, radius_m=0.03, max_radius_px=8, near=0.05):
    """The previous `splat_points`: expand every (point, pixel) pair, lexsort, keep the nearest."""
    height, width = size
    depth = np.full(height * width, np.inf)
    labels = np.full(height * width, -1, np.int64)
    cu, cv, z, lab, radius = rasterize.surfels(points, point_labels, intrinsics, size, radius_m, max_radius_px, near)
    side = 2 * radius + 1
    counts = side * side
    for part in rasterize._chunks(counts):
        idx, off = rasterize._expand(counts[part])
        idx += part.start
        px = cu[idx] + off % side[idx] - radius[idx]
        py = cv[idx] + off // side[idx] - radius[idx]
        inside = (px >= 0) & (px < width) & (py >= 0) & (py < height)
        idx, px, py = idx[inside], px[inside], py[inside]
        rasterize._zbuffer(depth, labels, py * width + px, z[idx], lab[idx])
    return rasterize._finish(depth, labels, size)


def scene_with_views(scene: Path, target: Path, views: int) -> None:
    """A scene folder at `target`: links to `scene`'s files, each colour frame listed `views` times."""
    meta = json.loads((scene / "scene.json").read_text())
    (target / "color").mkdir(parents=True)
    for name in ("points_xyzrgb.npy", "points_ins_label.npy", "points_sem_label.npy"):
        (target / name).symlink_to((scene / name).resolve())
    frames = []
    for frame in meta["frames"]:
        image = Path(frame["image"])
        for view in range(views):
            name = f"color/{image.stem}_{view}{image.suffix}"
            (target / name).symlink_to((scene / image).resolve())
            frames.append({**frame, "image": name})
    (target / "scene.json").write_text(json.dumps({**meta, "frames": frames}))


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (pool workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def source_frames(scene: Path, scale: float, splat, repeats: int) -> tuple[float, list]:
    """Per-frame CPU-s of the source's frame loading (image, resize, splat, masks) and the splat calls."""
    calls = []

    def recording(*args):
        calls.append(args)
        return splat(*args)

    scannet.splat_points = recording
    try:
        start, frames = cpu_seconds(), 0
        for _ in range(repeats):
            source = scannet.ScanNetPointCloudSource(scene, image_scale=scale)
            for frame in source.load(scene.name).frames:
                frame.depth
                frames += 1
        return (cpu_seconds() - start) / frames, calls
    finally:
        scannet.splat_points = rasterize.splat_points


def build(root: Path, scale: float, num_proc: int, frames_per_scene: int, splat) -> tuple[float, float, int]:
    """(CPU-s per frame, wall-s per frame, frames) of a whole build over `root`."""
    scannet.splat_points = splat  # pool workers fork and inherit it
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cpu, wall = cpu_seconds(), time.perf_counter()
            build_msmu("scannet", Path(tmp) / "msmu", scannet_root=str(root), point_cloud_scale=scale,
                       frames_per_scene=frames_per_scene, num_proc=num_proc, progress=False, verbose=False)
            wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    finally:
        scannet.splat_points = rasterize.splat_points
    frames = sum(min(frames_per_scene, len(json.loads((d / "scene.json").read_text())["frames"]))
                 for d in root.iterdir())
    return cpu / frames, wall / frames, frames


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=SHARED_DATA / "scannet_scene0000_00")
    parser.add_argument("--scale", type=float, default=0.5, help="point-cloud image scale (--point-cloud-scale)")
    parser.add_argument("--copies", type=int, default=4, help="scenes in the build (each made of links to the sample)")
    parser.add_argument("--frames-per-scene", type=int, default=20, help="frames rendered per scene in the build")
    parser.add_argument("--repeats", type=int, default=2, help="passes over the frames for the source timing")
    args = parser.parse_args(argv)
    if not (args.scene / "scene.json").is_file():
        raise SystemExit(f"no ScanNet sample at {args.scene}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    before, calls = source_frames(args.scene, args.scale, splat_lexsort, args.repeats)
    after, _ = source_frames(args.scene, args.scale, rasterize.splat_points, args.repeats)
    splat_cpu = {}
    for name, splat in (("before", splat_lexsort), ("after", rasterize.splat_points)):
        start = cpu_seconds()
        outputs = [splat(*call) for call in calls]
        splat_cpu[name] = ((cpu_seconds() - start) / len(calls), outputs)
    identical = all(np.array_equal(a, b) for old, new in zip(splat_cpu["before"][1], splat_cpu["after"][1])
                    for a, b in zip(old, new))
    assert identical, "the scatter-min splat differs from the lexsort z-buffer"
    height, width = calls[0][3]
    print(f"ScanNet sample {args.scene.name}, frames rendered at {width}x{height} (scale {args.scale}); "
          f"depth and labels identical before/after on all {len(calls)} frames")
    print(f"splat_points       CPU-s/frame: before {splat_cpu['before'][0]:.4f}  after {splat_cpu['after'][0]:.4f}"
          f"  ratio {splat_cpu['before'][0] / splat_cpu['after'][0]:.1f}x")
    print(f"source frame       CPU-s/frame: before {before:.4f}  after {after:.4f}  ratio {before / after:.1f}x")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(args.copies):
            scene_with_views(args.scene, root / f"scene{i:04d}_00", -(-args.frames_per_scene // 3))
        old_cpu, old_wall, frames = build(root, args.scale, 1, args.frames_per_scene, splat_lexsort)
        new_cpu, new_wall, _ = build(root, args.scale, 1, args.frames_per_scene, rasterize.splat_points)
        par_cpu, par_wall, _ = build(root, args.scale, 2, args.frames_per_scene, rasterize.splat_points)
    print(f"whole build ({frames} frames, {args.copies} scenes), --num-proc 1  CPU-s/frame: before {old_cpu:.4f}  "
          f"after {new_cpu:.4f}  ratio {old_cpu / new_cpu:.1f}x")
    print(f"--num-proc scaling (after): wall-s/frame 1 proc {new_wall:.4f}, 2 procs {par_wall:.4f}: "
          f"{new_wall / par_wall:.2f}x (ideal 2x on 2 free cores; CPU-s/frame at 2 procs {par_cpu:.4f}); "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    speedup = min(new_wall / par_wall, 2.0)
    for name, count in (("ScanNet (1,513 scenes x 20 frames)", SCANNET_FRAMES),
                        ("ScanNet++ (460 scenes x 20 frames, point-cloud layout)", SCANNETPP_FRAMES)):
        print(f"projection {name}: before {old_cpu * count / 3600:.2f} CPU-h, after {new_cpu * count / 3600:.2f} "
              f"CPU-h = {new_cpu * count / 3600 / speedup:.2f} h wall on 2 cores at the measured "
              f"{speedup:.2f}x scaling")


if __name__ == "__main__":
    main()
