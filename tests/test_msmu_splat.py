"""Point splatting (`splat_points`) against a brute-force z-buffer, and its scale on the build CLI."""

import numpy as np
import pytest

from dataset_builders.msmu.config import BuildConfig
from dataset_builders.msmu.sources import make_scene_source
from dataset_builders.msmu.sources.rasterize import splat_points


def brute_force(points, labels, intrinsics, size, radius_m, max_radius_px, near=0.05):
    """Point by point in order, pixel by pixel: a strictly nearer fragment replaces the one there."""
    fx, fy, cx, cy = intrinsics
    height, width = size
    depth = np.full(size, np.inf)
    label_map = np.full(size, -1, np.int64)
    for (x, y, z), label in zip(points, labels):
        if z <= near:
            continue
        u, v = int(np.rint(fx * x / z + cx)), int(np.rint(fy * y / z + cy))
        r = int(np.clip(np.rint(fx * radius_m / z), 0, max_radius_px))
        for row in range(max(v - r, 0), min(v + r, height - 1) + 1):
            for col in range(max(u - r, 0), min(u + r, width - 1) + 1):
                if z < depth[row, col]:
                    depth[row, col], label_map[row, col] = z, label
    return np.where(np.isfinite(depth), depth, 0).astype(np.float32), label_map


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_splat_points_equals_brute_force_zbuffer(seed):
    rng = np.random.default_rng(seed)
    n = 300
    points = np.c_[rng.uniform(-1.5, 1.5, (n, 2)), rng.uniform(-0.2, 4.0, n)]
    points[: n // 3, 2] = np.round(points[: n // 3, 2], 1)  # many exact depth ties: the earlier point wins
    labels = rng.integers(-1, 6, n)
    intrinsics, size = (30.0, 28.0, 19.5, 14.5), (30, 40)  # centres off-image with footprints inside, too
    got = splat_points(points, labels, intrinsics, size, radius_m=0.15, max_radius_px=5)
    want = brute_force(points, labels, intrinsics, size, radius_m=0.15, max_radius_px=5)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert (got[1] >= 0).sum() > 100  # the case is not trivially empty


def test_splat_points_without_visible_points():
    depth, labels = splat_points(np.array([[0.0, 0.0, -1.0], [50.0, 0.0, 1.0]]), np.array([1, 2]),
                                 (10.0, 10.0, 4.5, 4.5), (10, 10))
    assert not depth.any() and (labels == -1).all()


def test_point_cloud_scale_reaches_the_scannet_source(tmp_path):
    config = BuildConfig(source="scannet", scannet_root=str(tmp_path), point_cloud_scale=0.25)
    assert make_scene_source(config).point_cloud_options == {"image_scale": 0.25}
    assert "--point-cloud-scale 0.25" in config.command()
    with pytest.raises(ValueError, match="point_cloud_scale must lie in"):
        BuildConfig(point_cloud_scale=0.0)
