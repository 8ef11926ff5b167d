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


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    t = np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-12), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + t * ab)))


def _inside_convex(p: np.ndarray, poly: np.ndarray) -> bool:
    edges = np.roll(poly, -1, axis=0) - poly
    rel = p - poly
    cross = edges[:, 0] * rel[:, 1] - edges[:, 1] * rel[:, 0]
    return bool(np.all(cross >= -1e-12))


def polygon_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Distance between two convex counter-clockwise polygons (0 when they overlap)."""
    if any(_inside_convex(v, q) for v in p) or any(_inside_convex(v, p) for v in q):
        return 0.0
    best = np.inf
    for poly_a, poly_b in ((p, q), (q, p)):
        for v in poly_a:
            for i in range(len(poly_b)):
                best = min(best, _segment_distance(v, poly_b[i], poly_b[(i + 1) % len(poly_b)]))
    # Two convex polygons whose vertices are all outside each other can still cross (edge-edge);
    # then some edge pair intersects and the distance is 0.
    for i in range(len(p)):
        for j in range(len(q)):
            if _segments_cross(p[i], p[(i + 1) % len(p)], q[j], q[(j + 1) % len(q)]):
                return 0.0
    return float(best)


def _segments_cross(a, b, c, d) -> bool:
    def orient(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    return (orient(a, b, c) * orient(a, b, d) < 0) and (orient(c, d, a) * orient(c, d, b) < 0)


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


def ray_box_hits(origin: np.ndarray, dirs: np.ndarray, center, size, yaw) -> tuple[np.ndarray, np.ndarray]:
    """Slab test of many rays against one box seen from outside.

    origin (3,), dirs (N, 3) world directions (any length) -> (t (N,), normals (N, 3)): the ray
    parameter of the entry point (inf where the ray misses, or starts inside the box) and the world
    normal of the entered face.
    """
    rot = yaw_matrix(yaw)
    o = rot.T @ (np.asarray(origin, dtype=np.float64) - np.asarray(center, dtype=np.float64))
    d = dirs @ rot.astype(dirs.dtype)  # rows of dirs times rot == rot.T applied to each ray
    half = np.asarray(size, dtype=np.float64) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1 = (-half - o) * inv
        t2 = (half - o) * inv
    # A ray parallel to a slab and outside it gives +-inf pairs that reject it; inside gives nan.
    t_lo = np.nan_to_num(np.minimum(t1, t2), nan=-np.inf)
    t_hi = np.nan_to_num(np.maximum(t1, t2), nan=np.inf)
    axis = np.argmax(t_lo, axis=1)
    rows = np.arange(len(axis))
    t_near = t_lo[rows, axis]
    t_far = np.min(t_hi, axis=1)
    hit = (t_near <= t_far) & (t_near > 0)
    normal_local = np.zeros(d.shape, dtype=np.float64)
    normal_local[rows, axis] = -np.sign(d[rows, axis])
    return np.where(hit, t_near, np.inf), normal_local @ rot.T


__all__ = [
    "yaw_matrix",
    "box_corners",
    "footprint",
    "point_box_distance",
    "polygon_distance",
    "box_box_distance",
    "ray_box_hits",
]
