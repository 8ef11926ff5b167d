"""Point splatting (`splat_points`) and mesh rasterisation (`rasterize_triangles`) against brute-force
z-buffers, the masks of a label map, and the point-cloud scale on the build CLI."""

import numpy as np
import pytest

from dataset_builders.msmu.config import BuildConfig
from dataset_builders.msmu.sources import make_scene_source
from dataset_builders.msmu.sources import rasterize
from dataset_builders.msmu.sources.rasterize import label_masks, rasterize_triangles, splat_points


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


def brute_force_triangles(vertices, faces, face_labels, intrinsics, size, near=0.05):
    """Face by face in order, pixel by pixel, in plain Python floats with the rasteriser's formulas
    (edge-function weights, interpolated 1/z): a strictly nearer fragment replaces the one there."""
    fx, fy, cx, cy = intrinsics
    height, width = size
    depth = np.full(size, np.inf)
    label_map = np.full(size, -1, np.int64)
    for face, label in zip(faces, face_labels):
        corners = [vertices[i] for i in face]
        if any(z <= near for _, _, z in corners):
            continue
        (u0, u1, u2) = [fx * x / z + cx for x, _, z in corners]
        (v0, v1, v2) = [fy * y / z + cy for _, y, z in corners]
        area = (u1 - u0) * (v2 - v0) - (v1 - v0) * (u2 - u0)
        if abs(area) <= 1e-12:
            continue
        for py in range(max(int(np.ceil(min(v0, v1, v2))), 0), min(int(np.floor(max(v0, v1, v2))), height - 1) + 1):
            for px in range(max(int(np.ceil(min(u0, u1, u2))), 0), min(int(np.floor(max(u0, u1, u2))), width - 1) + 1):
                w0 = ((u1 - px) * (v2 - py) - (v1 - py) * (u2 - px)) / area
                w1 = ((u2 - px) * (v0 - py) - (v2 - py) * (u0 - px)) / area
                w2 = 1.0 - w0 - w1
                if min(w0, w1, w2) < -1e-9:
                    continue
                z = 1.0 / (w0 / corners[0][2] + w1 / corners[1][2] + w2 / corners[2][2])
                if z < depth[py, px]:
                    depth[py, px], label_map[py, px] = z, label
    return np.where(np.isfinite(depth), depth, 0).astype(np.float32), label_map


def random_mesh(rng, n):
    """n triangles in front of (and some behind) the camera; a third are exact copies of earlier
    faces with other labels (equal depths: the earlier face must win), a few planes share depth."""
    centers = np.c_[rng.uniform(-1.2, 1.2, (n, 2)), rng.uniform(0.5, 4.0, n)]
    centers[: n // 4, 2] = np.round(centers[: n // 4, 2], 0)  # fronto-parallel faces at equal depths
    vertices = (centers[:, None, :] + rng.normal(0, 0.4, (n, 3, 3)) * [1, 1, 0.1]).reshape(-1, 3)
    vertices[: 3 * (n // 4), 2] = np.repeat(centers[: n // 4, 2], 3)
    faces = np.arange(3 * n).reshape(n, 3)
    copies = rng.integers(0, n, n // 3)
    faces = np.concatenate([faces, faces[copies][:, ::-1]])  # reversed winding, same triangle
    labels = rng.integers(-1, 7, len(faces))
    return vertices, rng.permutation(faces), labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rasterize_triangles_equals_brute_force_zbuffer(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    vertices, faces, labels = random_mesh(rng, 60)
    intrinsics, size = (30.0, 28.0, 19.5, 14.5), (30, 40)
    monkeypatch.setattr(rasterize, "_CHUNK_PAIRS", 500)  # many chunks: ties across chunks too
    got = rasterize_triangles(vertices, faces, labels, intrinsics, size)
    want = brute_force_triangles(vertices, faces, labels, intrinsics, size)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert (got[1] >= 0).sum() > 300  # most of the image is covered


def test_label_masks_are_the_labels_present():
    label_map = np.array([[-1, 3, 3], [0, -1, 7], [7, 7, -1]])
    masks = label_masks(label_map)
    assert list(masks) == [0, 3, 7]
    for label, mask in masks.items():
        assert mask.dtype == np.bool_ and np.array_equal(mask, label_map == label)
    huge = np.array([[2**40, -1], [5, 2**40]])  # ids far beyond the pixel count: np.unique path
    assert list(label_masks(huge)) == [5, 2**40]
    assert label_masks(np.full((2, 2), -1)) == {}
