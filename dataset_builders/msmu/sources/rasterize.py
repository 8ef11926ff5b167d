"""Z-buffer rendering of labelled geometry into a pinhole camera, in plain numpy.

Two primitives, both returning a metric depth map and a per-pixel label map of the nearest surface:

- `rasterize_triangles`: a mesh (ScanNet's ``*_vh_clean_2.ply``), exact perspective-correct depth;
- `splat_points`: a point cloud, each point a camera-facing square of `radius_m` (a surfel), so the
  footprint shrinks with distance like the surface it samples.

Conventions: camera frame x right, y down, z forward; pixel (row i, column j) has its centre at
image coordinates (u=j, v=i) (OpenCV), so u = fx * x / z + cx.
The mesh path is vectorised over (face, pixel) pairs in bounded chunks, so memory stays ~100 MB;
the point path works on points and whole images only (see `splat_points`).
"""

import numpy as np

_CHUNK_PAIRS = 2_000_000


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For primitives with `counts` candidate pixels each: (primitive index, local offset) per pair."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - starts[owner]


def _chunks(counts: np.ndarray):
    """Slices of consecutive primitives whose pair counts sum to at most `_CHUNK_PAIRS` (or one
    primitive, if it alone has more)."""
    cumulative = np.cumsum(counts)
    start = 0
    while start < len(counts):
        base = cumulative[start - 1] if start else 0
        stop = max(int(np.searchsorted(cumulative, base + _CHUNK_PAIRS, side="right")), start + 1)
        yield slice(start, stop)
        start = stop


def _zbuffer(depth: np.ndarray, labels: np.ndarray, pix: np.ndarray, z: np.ndarray, lab: np.ndarray,
             slot: np.ndarray):
    """Keeps, per flat pixel index, the nearest of the new fragments if strictly nearer than what
    is there; of equally near new fragments, the first. A scatter-min of depths, then a
    scatter-min of fragment numbers among the winners for ties: no sort. `slot`: (pixels,) int64
    scratch, int64 max everywhere on entry and on return."""
    if pix.size == 0:
        return
    before = depth[pix]
    np.fmin.at(depth, pix, z)  # fmin: a NaN depth never wins
    won = np.flatnonzero((z == depth[pix]) & (z < before))
    pix = pix[won]
    np.minimum.at(slot, pix, won)
    first = slot[pix] == won
    slot[pix] = np.iinfo(slot.dtype).max
    labels[pix[first]] = lab[won[first]]


def _finish(depth: np.ndarray, labels: np.ndarray, size: tuple[int, int]):
    depth = np.where(np.isfinite(depth), depth, 0.0).astype(np.float32).reshape(size)
    return depth, labels.reshape(size)


def rasterize_triangles(vertices: np.ndarray, faces: np.ndarray, face_labels: np.ndarray,
                        intrinsics, size: tuple[int, int], near: float = 0.05):
    """Renders a triangle mesh.

    Args:
        vertices: (V, 3) camera-frame coordinates in meters.
        faces: (F, 3) vertex indices.
        face_labels: (F,) int label per face (-1 for unlabelled geometry that still occludes).
        intrinsics: fx, fy, cx, cy in pixels.
        size: (H, W).
        near: faces with a vertex nearer than this (meters) are dropped rather than clipped; fine
            for scanned meshes whose faces are a few centimetres wide.

    Returns:
        depth (H, W) float32 meters (0 = no surface), labels (H, W) int64 (-1 = none).
    """
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    height, width = size
    depth = np.full(height * width, np.inf)
    labels = np.full(height * width, -1, np.int64)
    z = vertices[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = fx * vertices[:, 0] / z + cx
        v = fy * vertices[:, 1] / z + cy
    faces = np.asarray(faces)
    face_labels = np.asarray(face_labels)
    keep = np.all(z[faces] > near, axis=1)
    faces, face_labels = faces[keep], face_labels[keep]
    fu, fv, fz = u[faces], v[faces], z[faces]  # (F, 3) each
    x0 = np.clip(np.ceil(fu.min(1)), 0, width).astype(np.int64)
    x1 = np.clip(np.floor(fu.max(1)), -1, width - 1).astype(np.int64)
    y0 = np.clip(np.ceil(fv.min(1)), 0, height).astype(np.int64)
    y1 = np.clip(np.floor(fv.max(1)), -1, height - 1).astype(np.int64)
    area = (fu[:, 1] - fu[:, 0]) * (fv[:, 2] - fv[:, 0]) - (fv[:, 1] - fv[:, 0]) * (fu[:, 2] - fu[:, 0])
    keep = (x1 >= x0) & (y1 >= y0) & (np.abs(area) > 1e-12)
    fu, fv, fz, face_labels, area = fu[keep], fv[keep], fz[keep], face_labels[keep], area[keep]
    x0, x1, y0, y1 = x0[keep], x1[keep], y0[keep], y1[keep]
    box_w = x1 - x0 + 1
    counts = box_w * (y1 - y0 + 1)
    slot = np.full(height * width, np.iinfo(np.int64).max)
    for part in _chunks(counts):
        tri, off = _expand(counts[part])
        tri += part.start
        px = x0[tri] + off % box_w[tri]
        py = y0[tri] + off // box_w[tri]
        u0, u1, u2 = fu[tri, 0], fu[tri, 1], fu[tri, 2]
        v0, v1, v2 = fv[tri, 0], fv[tri, 1], fv[tri, 2]
        # Barycentric weights from edge functions; both windings accepted (no back-face culling:
        # scanned meshes are not consistently oriented, and the z-buffer resolves visibility).
        w0 = ((u1 - px) * (v2 - py) - (v1 - py) * (u2 - px)) / area[tri]
        w1 = ((u2 - px) * (v0 - py) - (v2 - py) * (u0 - px)) / area[tri]
        w2 = 1.0 - w0 - w1
        inside = (w0 >= -1e-9) & (w1 >= -1e-9) & (w2 >= -1e-9)
        tri, px, py = tri[inside], px[inside], py[inside]
        w0, w1, w2 = w0[inside], w1[inside], w2[inside]
        # 1/z is affine in screen space, so interpolating it gives perspective-correct depth.
        inv_z = w0 / fz[tri, 0] + w1 / fz[tri, 1] + w2 / fz[tri, 2]
        _zbuffer(depth, labels, py * width + px, 1.0 / inv_z, face_labels[tri], slot)
    return _finish(depth, labels, size)


def _erode(best: np.ndarray, rows: np.ndarray) -> None:
    """In place: each pixel of `best` (H, W) becomes the minimum over its 3x3 neighbourhood (pixels
    beyond the edge do not count); `rows` (H, W) is scratch space. No allocation: the splat erodes
    a whole padded image once per radius step."""
    rows[0] = best[0]
    np.minimum(best[:-1], best[1:], out=rows[1:])  # rows[i] = min(best[i - 1], best[i])
    np.minimum(rows[:-1], best[1:], out=rows[:-1])  # ... and best[i + 1]
    best[:, 0] = rows[:, 0]
    np.minimum(rows[:, :-1], rows[:, 1:], out=best[:, 1:])
    np.minimum(best[:, :-1], rows[:, 1:], out=best[:, :-1])


def surfels(points: np.ndarray, point_labels: np.ndarray, intrinsics, size: tuple[int, int], radius_m: float,
            max_radius_px: int, near: float):
    """Centre pixel (u, v), depth, label and pixel radius of each point whose square reaches the image,
    in point order: (cu, cv, z, labels, radius), each (K,)."""
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    height, width = size
    front = points[:, 2] > near
    pts, lab = points[front], np.asarray(point_labels)[front]
    z = pts[:, 2]
    cu = np.rint(fx * pts[:, 0] / z + cx).astype(np.int64)
    cv = np.rint(fy * pts[:, 1] / z + cy).astype(np.int64)
    radius = np.clip(np.rint(fx * radius_m / z), 0, max_radius_px).astype(np.int64)
    keep = (cu + radius >= 0) & (cu - radius < width) & (cv + radius >= 0) & (cv - radius < height)
    return cu[keep], cv[keep], z[keep], lab[keep], radius[keep]


def splat_points(points: np.ndarray, point_labels: np.ndarray, intrinsics, size: tuple[int, int],
                 radius_m: float = 0.03, max_radius_px: int = 8, near: float = 0.05):
    """Renders a point cloud as camera-facing square surfels.

    Args:
        points: (N, 3) camera-frame coordinates in meters.
        point_labels: (N,) int label per point (-1 for unlabelled points that still occlude).
        intrinsics: fx, fy, cx, cy in pixels.
        size: (H, W).
        radius_m: half-width of each surfel in meters (about the point spacing); its footprint is
            round(fx * radius_m / z) pixels each side, capped at `max_radius_px`.

    Returns:
        depth (H, W) float32 meters (0 = no point), labels (H, W) int64 (-1 = none). Each pixel
        shows the nearest point whose square covers it; equal depths go to the earlier point.

    No per-(point, pixel) work: points are ranked by (depth, index), each pixel of a rank image
    takes the best rank centred on it (a scatter-min over N points), and a square of radius r is
    r successive 3x3 minimum filters. Going from the largest radius down, the running image is
    eroded once per step and then takes the centres of that step's radius, so each surfel is
    eroded exactly its own radius. Cost: N + (max radius) x (padded pixels), instead of sorting
    every covered (point, pixel) pair.
    """
    height, width = size
    depth = np.zeros(height * width, np.float32)
    labels = np.full(height * width, -1, np.int64)
    cu, cv, z, lab, radius = surfels(points, point_labels, intrinsics, size, radius_m, max_radius_px, near)
    count = len(z)
    if count == 0:
        return depth.reshape(size), labels.reshape(size)
    order = np.argsort(z, kind="stable")  # rank -> point: nearest first, ties in point order
    rank = np.empty(count, np.int32)
    rank[order] = np.arange(count, dtype=np.int32)
    # A kept centre lies within its radius of the image, so a margin of the largest radius holds it.
    pad = int(radius.max())
    padded = (height + 2 * pad, width + 2 * pad)
    centre = (cv + pad) * padded[1] + (cu + pad)
    best = np.full(padded, count, np.int32)  # `count` = no point
    scratch = np.empty_like(best)
    for r in range(pad, -1, -1):
        if r < pad:
            _erode(best, scratch)
        at = radius == r
        np.minimum.at(best.reshape(-1), centre[at], rank[at])
    best = best[pad : pad + height, pad : pad + width].ravel()
    hit = best < count
    winner = order[best[hit]]
    depth[hit] = z[winner]  # z > near: the same float32 as rounding a float64 map
    labels[hit] = lab[winner]
    return depth.reshape(size), labels.reshape(size)


def label_masks(label_map: np.ndarray) -> dict[int, np.ndarray]:
    """{label: (H, W) bool mask} for every label >= 0 of a rendered label map, in increasing order.
    The labels present come from a bincount when they are small (object ids are), which is several
    times cheaper than `np.unique` over every pixel."""
    labels = label_map[label_map >= 0]
    if labels.size == 0:
        return {}
    if labels.max() < 4 * label_map.size:
        present = np.flatnonzero(np.bincount(labels))
    else:
        present = np.unique(labels)
    return {int(i): label_map == i for i in present}


def transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Applies a 4x4 rigid transform to (N, 3) points."""
    return points @ matrix[:3, :3].T + matrix[:3, 3]


__all__ = ["rasterize_triangles", "splat_points", "surfels", "label_masks", "transform"]
