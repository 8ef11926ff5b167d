"""ScanNet build cost on the real sample scene: per-frame CPU-s before/after, the output checked
identical, `--num-proc` scaling, and the projection to ScanNet and ScanNet++ scale.

    python benchmarks/bench_scannet_build.py [--scene $SDVLM_SHARED_DATA/scannet_scene0000_00] [--scale 0.5]
        [--copies 4] [--frames-per-scene 20] [--repeats 2]

"before" is this project's build as it was before the build-speed work, put back for the run by
swapping in the implementations kept here (`BEFORE`): the lexsort z-buffer (every covered
(point, pixel) or (face, pixel) pair sorted by pixel and depth), masks from `np.unique` over every
pixel, the occlusion test on every pixel's (N, 3) world ray, and shards made through
`Dataset.from_list` (which hashes every byte of the table for a fingerprint nobody reads). The run
asserts that before and after give identical depth and label maps on every real frame, identical
mesh renders, and byte-identical parquet shards for the whole build, with 1 and 2 processes.

The build rows are `build_msmu(source="scannet", frames_per_scene=20)` over `--copies` scenes made of
links to the one real scene, its 3 posed frames each listed 7 times, so 20 frames a scene are
rendered as in a real build and the per-scene fixed cost (cloud loading, box matching) is spread
over as many. A one-scene build runs first, untimed, so that neither timed build pays the process's
first-use costs (imports, the Arrow memory pool's first pages). The mesh rows render a mesh made
from a real frame's splatted depth (two triangles per 2 x 2 pixel block, labels from the label
map) with `rasterize_triangles`, as the ScanNet export layout and ScanNet++ do.

Timings are CPU seconds (this process and its finished pool workers): on a shared, loaded machine
they vary less than wall time, which is printed for the `--num-proc` scaling only.
"""

import argparse
import contextlib
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from datasets import Dataset

import dataset_builders.msmu.sources.scannet as scannet
from dataset_builders.msmu import build_msmu, visibility, writer
from dataset_builders.msmu.camera import box_pixel_rect, world_rays
from dataset_builders.msmu.geometry import ray_box_hits
from dataset_builders.msmu.sources import rasterize

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SDVLM_SHARED_DATA", REPO.parent / "shared" / "data"))  # as tests/conftest.py
SCANNET_FRAMES = 1513 * 20  # ScanNet v2 scenes x frames per scene of the MSMU build
SCANNETPP_FRAMES = 460 * 20  # ScanNet++ (paper) scenes x 20, if exported to the point-cloud layout


def zbuffer_lexsort(depth, labels, pix, z, lab, slot=None):
    """The previous z-buffer step: lexsort the fragments by (pixel, depth), keep each pixel's first."""
    if pix.size == 0:
        return
    order = np.lexsort((z, pix))
    pix, z, lab = pix[order], z[order], lab[order]
    first = np.r_[True, pix[1:] != pix[:-1]]
    pix, z, lab = pix[first], z[first], lab[first]
    nearer = z < depth[pix]
    depth[pix[nearer]] = z[nearer]
    labels[pix[nearer]] = lab[nearer]


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
        zbuffer_lexsort(depth, labels, py * width + px, z[idx], lab[idx])
    return rasterize._finish(depth, labels, size)


def label_masks_unique(label_map):
    """The previous masks: `np.unique` over every pixel."""
    return {int(i): label_map == i for i in np.unique(label_map) if i >= 0}


def occlusion_full_rays(obj, frame, mask, tolerance, rays=None):
    """The previous occlusion test: the box's rectangle cut out of every pixel's (N, 3) world ray."""
    height, width = frame.depth.shape
    rect = box_pixel_rect(obj.center, obj.size, obj.yaw, frame.intrinsics, frame.pose, width, height)
    visible = int(mask.sum())
    if rect is None:
        return 1.0 if visible == 0 else 0.0
    u0, u1, v0, v1 = rect
    if rays is None:
        rays = world_rays(frame.intrinsics, frame.pose, width, height)
    rays = rays.reshape(height, width, 3)[v0:v1, u0:u1].reshape(-1, 3)
    t = ray_box_hits(frame.pose[:3, 3], rays, obj.center, obj.size, obj.yaw)
    depth = frame.depth[v0:v1, u0:u1].ravel()
    in_mask = mask[v0:v1, u0:u1].ravel()
    occluded = int(np.sum(np.isfinite(t) & ~in_mask & (depth > 0) & (depth < t - tolerance)))
    if occluded + visible == 0:
        return 1.0
    return occluded / (occluded + visible)


def table_from_list(rows, features):
    """The previous shard table: through a `Dataset`, which fingerprints it by hashing it whole."""
    return Dataset.from_list(rows, features=features).data.table


# (module, name, the implementation before) for every step the build-speed work replaced
BEFORE = [
    (scannet, "splat_points", splat_lexsort),
    (rasterize, "_zbuffer", zbuffer_lexsort),
    (scannet, "label_masks", label_masks_unique),
    (visibility, "world_ray_planes", world_rays),
    (visibility, "occlusion", occlusion_full_rays),
    (writer, "rows_table", table_from_list),
]


@contextlib.contextmanager
def implementations(before: bool):
    """Runs the block with the `BEFORE` implementations swapped in (pool workers fork and inherit
    them), or with the current ones."""
    current = [(module, name, getattr(module, name)) for module, name, _ in BEFORE]
    try:
        if before:
            for module, name, old in BEFORE:
                setattr(module, name, old)
        yield
    finally:
        for module, name, new in current:
            setattr(module, name, new)


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


def source_frames(scene: Path, scale: float, before: bool, repeats: int) -> tuple[float, list, list]:
    """(per-frame CPU-s of the source's frame loading: image, resize, splat, masks; the splat calls;
    the frames)."""
    calls, frames = [], []
    splat = scannet.splat_points if not before else splat_lexsort

    def recording(*args):
        calls.append(args)
        return splat(*args)

    with implementations(before):
        scannet.splat_points = recording
        start = cpu_seconds()
        for _ in range(repeats):
            source = scannet.ScanNetPointCloudSource(scene, image_scale=scale)
            frames += list(source.load(scene.name).frames)
        return (cpu_seconds() - start) / len(frames), calls, frames


def timed_calls(function, calls) -> tuple[float, list]:
    """(CPU-s per call, outputs) of `function` over `calls`."""
    start = cpu_seconds()
    outputs = [function(*call) for call in calls]
    return (cpu_seconds() - start) / len(calls), outputs


def depth_mesh(depth: np.ndarray, labels: np.ndarray, intrinsics, step: int = 2):
    """A scan-like mesh from a rendered frame: vertices back-projected on every `step`-th pixel, two
    triangles per grid cell whose corners all have depth, a face's label its first corner's."""
    fx, fy, cx, cy = intrinsics
    rows, cols = np.mgrid[0 : depth.shape[0] : step, 0 : depth.shape[1] : step]
    z = depth[rows, cols].astype(np.float64)
    vertices = np.stack([(cols - cx) / fx * z, (rows - cy) / fy * z, z], -1).reshape(-1, 3)
    h, w = z.shape
    index = np.arange(h * w).reshape(h, w)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    faces = faces[(vertices[faces, 2] > 0).all(1)]
    return vertices, faces, labels[rows, cols].reshape(-1)[faces[:, 0]]


def system_time_and_faults() -> tuple[float, int]:
    """(system CPU-s, minor page faults) of this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_stime + children.ru_stime, own.ru_minflt + children.ru_minflt


def build(root: Path, out: Path, scale: float, num_proc: int, frames_per_scene: int, before: bool):
    """(CPU-s per frame, wall-s per frame, frames, {shard name: bytes}, system share of the CPU-s,
    minor page faults per frame) of a whole build over `root`."""
    with implementations(before):
        cpu, wall, (system, faults) = cpu_seconds(), time.perf_counter(), system_time_and_faults()
        build_msmu("scannet", out, scannet_root=str(root), point_cloud_scale=scale, frames_per_scene=frames_per_scene,
                   num_proc=num_proc, progress=False, verbose=False)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        system, faults = (now - then for now, then in zip(system_time_and_faults(), (system, faults)))
    frames = sum(min(frames_per_scene, len(json.loads((d / "scene.json").read_text())["frames"]))
                 for d in root.iterdir())
    shards = {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}
    return cpu / frames, wall / frames, frames, shards, system / cpu, faults / frames


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

    frame_before, calls, old_frames = source_frames(args.scene, args.scale, True, args.repeats)
    frame_after, _, new_frames = source_frames(args.scene, args.scale, False, args.repeats)
    for old, new in zip(old_frames, new_frames):
        assert np.array_equal(old.image, new.image) and np.array_equal(old.depth, new.depth), old.frame_id
        assert old.instance_masks.keys() == new.instance_masks.keys(), old.frame_id
        assert all(np.array_equal(old.instance_masks[i], new.instance_masks[i]) for i in old.instance_masks)
    splat_before, old_maps = timed_calls(splat_lexsort, calls)
    splat_after, new_maps = timed_calls(rasterize.splat_points, calls)
    assert all(np.array_equal(a, b) for old, new in zip(old_maps, new_maps) for a, b in zip(old, new)), \
        "the scatter-min splat differs from the lexsort z-buffer"
    height, width = calls[0][3]
    print(f"ScanNet sample {args.scene.name}, frames rendered at {width}x{height} (scale {args.scale}); "
          f"image, depth, label maps and masks identical before/after on all {len(calls)} frames")
    print(f"splat_points       CPU-s/frame: before {splat_before:.4f}  after {splat_after:.4f}"
          f"  ratio {splat_before / splat_after:.1f}x")
    print(f"source frame       CPU-s/frame: before {frame_before:.4f}  after {frame_after:.4f}"
          f"  ratio {frame_before / frame_after:.1f}x")

    meshes = [(*depth_mesh(depth, labels, call[2]), call[2], call[3]) for call, (depth, labels) in zip(calls, new_maps)]
    with implementations(True):
        mesh_before, old_renders = timed_calls(rasterize.rasterize_triangles, meshes)
    mesh_after, new_renders = timed_calls(rasterize.rasterize_triangles, meshes)
    assert all(np.array_equal(a, b) for old, new in zip(old_renders, new_renders) for a, b in zip(old, new)), \
        "the scatter-min mesh z-buffer differs from the lexsort one"
    print(f"rasterize_triangles CPU-s/frame ({len(meshes[0][1])} faces from a real frame's depth, identical "
          f"renders): before {mesh_before:.4f}  after {mesh_after:.4f}  ratio {mesh_before / mesh_after:.1f}x")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.copies):
            scene_with_views(args.scene, tmp / "root" / f"scene{i:04d}_00", -(-args.frames_per_scene // 3))
        scene_with_views(args.scene, tmp / "warmup" / "scene0000_00", -(-args.frames_per_scene // 3))
        build(tmp / "warmup", tmp / "warmup-out", args.scale, 1, args.frames_per_scene, False)
        old_cpu, _, frames, old_shards, old_sys, old_faults = build(tmp / "root", tmp / "before", args.scale, 1,
                                                                    args.frames_per_scene, True)
        new_cpu, new_wall, _, new_shards, new_sys, new_faults = build(tmp / "root", tmp / "after", args.scale, 1,
                                                                      args.frames_per_scene, False)
        par_cpu, par_wall, _, par_shards, _, _ = build(tmp / "root", tmp / "after2", args.scale, 2,
                                                       args.frames_per_scene, False)
    assert new_shards == old_shards, "the build's parquet shards differ before/after"
    assert par_shards == new_shards, "the build's parquet shards differ between 1 and 2 processes"
    print(f"whole build ({frames} frames, {args.copies} scenes), --num-proc 1  CPU-s/frame: before {old_cpu:.4f}  "
          f"after {new_cpu:.4f}  ratio {old_cpu / new_cpu:.1f}x; {len(new_shards)} parquet shards byte-identical "
          f"before/after and at 2 processes; system time {old_sys:.0%} / {new_sys:.0%} of the CPU-s, "
          f"{old_faults:.0f} / {new_faults:.0f} minor page faults a frame")
    print(f"--num-proc scaling (after): wall-s/frame 1 proc {new_wall:.4f}, 2 procs {par_wall:.4f}: "
          f"{new_wall / par_wall:.2f}x (ideal 2x on 2 free cores; CPU-s/frame at 2 procs {par_cpu:.4f}); "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    speedup = min(new_wall / par_wall, 2.0)
    for name, count in (("ScanNet (1,513 scenes x 20 frames)", SCANNET_FRAMES),
                        ("ScanNet++ (460 scenes x 20 frames, point-cloud layout)", SCANNETPP_FRAMES)):
        print(f"projection {name}: before {old_cpu * count / 3600:.2f} CPU-h, after {new_cpu * count / 3600:.2f} "
              f"CPU-h = {new_cpu * count / 3600 / speedup:.2f} h wall on 2 cores at the measured "
              f"{speedup:.2f}x scaling ({new_cpu * count / 3600 / 2:.2f} h at the ideal 2x)")


if __name__ == "__main__":
    main()
