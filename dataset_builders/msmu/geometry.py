"""Box geometry shared by the renderer, the visibility test and the question templates.

Boxes are gravity-aligned: a center (3,), extents (3,) along the box's own x, y and world z, and a
yaw about world z (see `scene.SceneObject`). All distances are in meters.

>>> import numpy as np
>>> a = (np.array([0.0, 0.0, 0.5]), np.array([1.0, 1.0, 1.0]), 0.0)
>>> b = (np.array([3.0, 0.0, 0.5]), np.array([1.0, 1.0, 1.0]), 0.0)
>>> round(box_box_distance(*a, *b), 6)  # faces at x=0.5 and x=2.5
2.0
>>> round(point_box_distance(np.array([0.0, 0.0, 3.0]), *a), 6)  # 2 m above the top face
2.0
"""

import numpy as np


def yaw_matrix(yaw: float) -> np.ndarray:
    """(3, 3) rotation about world z by `yaw` radians (box-local -> world)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def box_corners(center: np.ndarray, size: np.ndarray, yaw: float) -> np.ndarray:
    """(8, 3) world corners of a gravity-aligned box."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    local = signs * (np.asarray(size, dtype=float) / 2.0)
    return local @ yaw_matrix(yaw).T + np.asarray(center, dtype=float)


def footprint(center: np.ndarray, size: np.ndarray, yaw: float) -> np.ndarray:
    """(4, 2) counter-clockwise corners of the box's horizontal footprint."""
    hx, hy = float(size[0]) / 2.0, float(size[1]) / 2.0
    local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    return local @ yaw_matrix(yaw)[:2, :2].T + np.asarray(center, dtype=float)[:2]


def point_box_distance(point: np.ndarray, center: np.ndarray, size: np.ndarray, yaw: float) -> float:
    """Euclidean distance from a point (3,) to the closest point of a box (0 inside it)."""
    local = yaw_matrix(yaw).T @ (np.asarray(point, dtype=float) - np.asarray(center, dtype=float))
    excess = np.maximum(np.abs(local) - np.asarray(size, dtype=float) / 2.0, 0.0)
    return float(np.linalg.norm(excess))


def _point_segment_distances(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) distances from N points to M segments a[j]-b[j]."""
    ab = b - a  # (M, 2)
    rel = points[:, None, :] - a[None, :, :]  # (N, M, 2)
    t = np.clip((rel * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(rel - t[..., None] * ab, axis=-1)


def _inside_convex(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(N,) whether each point lies in (or on) a counter-clockwise convex polygon."""
    edges = np.roll(poly, -1, axis=0) - poly
    rel = points[:, None, :] - poly[None, :, :]
    cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
    return np.all(cross >= -1e-12, axis=1)


def _edges_cross(p: np.ndarray, q: np.ndarray) -> bool:
    """Whether any edge of polygon p properly crosses any edge of polygon q."""
    a, b = p[:, None, :], np.roll(p, -1, axis=0)[:, None, :]
    c, d = q[None, :, :], np.roll(q, -1, axis=0)[None, :, :]

    def orient(u, v, w):
        return (v[..., 0] - u[..., 0]) * (w[..., 1] - u[..., 1]) - (v[..., 1] - u[..., 1]) * (w[..., 0] - u[..., 0])

    return bool(np.any((orient(a, b, c) * orient(a, b, d) < 0) & (orient(c, d, a) * orient(c, d, b) < 0)))


def polygon_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Distance between two convex counter-clockwise polygons (0 when they overlap)."""
    if _inside_convex(p, q).any() or _inside_convex(q, p).any() or _edges_cross(p, q):
        return 0.0
    # Disjoint convex polygons: the closest pair always involves a vertex of one of them.
    to_q = _point_segment_distances(p, q, np.roll(q, -1, axis=0)).min()
    to_p = _point_segment_distances(q, p, np.roll(p, -1, axis=0)).min()
    return float(min(to_q, to_p))


def box_box_distance(c1, s1, yaw1, c2, s2, yaw2) -> float:
    """Closest-point distance between two gravity-aligned boxes.

    Exact: a gravity-aligned box is (footprint polygon) x (height interval), so the squared distance
    splits into the horizontal polygon distance squared plus the vertical interval gap squared.
    """
    horizontal = polygon_distance(footprint(c1, s1, yaw1), footprint(c2, s2, yaw2))
    lo1, hi1 = c1[2] - s1[2] / 2.0, c1[2] + s1[2] / 2.0
    lo2, hi2 = c2[2] - s2[2] / 2.0, c2[2] + s2[2] / 2.0
    vertical = max(lo2 - hi1, lo1 - hi2, 0.0)
    return float(np.hypot(horizontal, vertical))


def rotate_rows(vectors: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """rot (3, 3) applied to each row of vectors (N, 3) -> (3, N), in the vectors' dtype."""
    return np.stack(rotate_components(np.ascontiguousarray(vectors.T), rot))


def rotate_components(components, rot: np.ndarray) -> list[np.ndarray]:
    """rot (3, 3) applied to vectors given as their 3 components (arrays of one shape, or shapes that
    broadcast) -> the 3 rotated components, in the components' dtype.

    Written out per component: a BLAS matmul with an inner size of 3 is several times slower here,
    and this is the renderer's innermost step.
    """
    c0, c1, c2 = components
    r = rot.astype(c0.dtype)
    return [c0 * r[k, 0] + c1 * r[k, 1] + c2 * r[k, 2] for k in range(3)]


def ray_box_hits(origin: np.ndarray, dirs: np.ndarray, center, size, yaw) -> np.ndarray:
    """Slab test of many rays against one box seen from outside.

    origin (3,), dirs (N, 3) world directions (any length) -> t (N,): the ray parameter of the
    entry point; inf where the ray misses the box or starts inside it. Computed in the rays' dtype.
    """
    return ray_box_entry(origin, np.ascontiguousarray(dirs.T), center, size, yaw)


def ray_box_entry(origin: np.ndarray, components, center, size, yaw) -> np.ndarray:
    """`ray_box_hits` with the directions given as their 3 world components, arrays of one shape
    (e.g. views of a pixel rectangle of `camera.world_ray_planes`) -> t of that shape."""
    rot = yaw_matrix(yaw)
    o = rot.T @ (np.asarray(origin, dtype=np.float64) - np.asarray(center, dtype=np.float64))
    half = np.asarray(size, dtype=np.float64) / 2.0
    local = rotate_components(components, rot.T)  # each axis a contiguous array
    t_near = np.full(local[0].shape, -np.inf, dtype=local[0].dtype)
    t_far = np.full(local[0].shape, np.inf, dtype=local[0].dtype)
    # One contiguous axis at a time is much faster than (N, 3) reductions. fmin/fmax skip the nan
    # of a ray lying exactly in a slab plane; a ray parallel to a slab gets +-inf, which rejects it
    # when it runs outside the slab and leaves it alone when inside.
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(3):
            inv = 1.0 / local[k]
            t1 = (-half[k] - o[k]) * inv
            t2 = (half[k] - o[k]) * inv
            np.fmax(t_near, np.fmin(t1, t2), out=t_near)
            np.fmin(t_far, np.fmax(t1, t2), out=t_far)
    return np.where((t_near <= t_far) & (t_near > 0), t_near, np.inf)


def face_normals(origin: np.ndarray, dirs: np.ndarray, t: np.ndarray, center, size, yaw) -> np.ndarray:
    """(N, 3) world normals of the box faces hit at `origin + t * dirs` (the face whose slab the
    hit point touches, relative to the box's half extents)."""
    rot = yaw_matrix(yaw)
    points = (np.asarray(origin, dtype=np.float64) + t[:, None] * dirs - np.asarray(center, dtype=np.float64)) @ rot
    ratio = points / (np.asarray(size, dtype=np.float64) / 2.0)
    axis = np.argmax(np.abs(ratio), axis=1)
    rows = np.arange(len(axis))
    normal_local = np.zeros((len(axis), 3))
    normal_local[rows, axis] = np.sign(ratio[rows, axis])
    return normal_local @ rot.T


__all__ = [
    "yaw_matrix",
    "box_corners",
    "footprint",
    "point_box_distance",
    "polygon_distance",
    "box_box_distance",
    "rotate_rows",
    "rotate_components",
    "ray_box_hits",
    "ray_box_entry",
    "face_normals",
]
