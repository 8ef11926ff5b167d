"""Procedural indoor rooms rendered with numpy: the embedded, download-free MSMU source.

Each scene is a box room (floor with tiles, four walls, ceiling) furnished with boxes drawn from a
category list with realistic size ranges, each with a colour and material (its descriptive name is
"<colour> <category>"); small objects may stand on top of furniture. Every frame has a random camera
height, pitch, heading and intrinsics, and object sizes are random, so neither image position nor
apparent size alone gives an object's distance or size: depth is needed. Depth and instance masks are
exact (see `render.py`).

Scene `i` is seeded from (seed, i), so scenes do not depend on which process builds them.

>>> source = SyntheticSource(num_scenes=2, seed=0, image_size=(32, 24), frames_per_scene=1)
>>> source.scene_ids()
['synthetic_00000', 'synthetic_00001']
>>> frame = next(iter(source.load('synthetic_00001').frames))
>>> frame.image.shape, frame.depth.dtype
((24, 32, 3), dtype('float32'))
"""

import re
from dataclasses import dataclass

import numpy as np

from ..camera import box_pixel_rect, camera_pose, project
from ..geometry import footprint, polygon_distance
from ..render import Box, Room, render_boxes
from ..scene import Frame, Scene, SceneError, SceneObject


@dataclass(frozen=True)
class CategorySpec:
    """Size ranges in meters: (min, max) of length (longer horizontal side), width, height."""

    length: tuple
    width: tuple
    height: tuple
    support: bool = False  # small objects may stand on it
    small: bool = False  # stands on a support when one is free, else on the floor


CATEGORIES = {
    "table": CategorySpec((0.8, 1.8), (0.6, 1.0), (0.65, 0.8), support=True),
    "chair": CategorySpec((0.4, 0.55), (0.4, 0.55), (0.8, 1.05)),
    "sofa": CategorySpec((1.5, 2.4), (0.8, 1.0), (0.7, 0.95)),
    "bed": CategorySpec((1.9, 2.2), (0.9, 1.9), (0.45, 0.65)),
    "cabinet": CategorySpec((0.6, 1.2), (0.4, 0.6), (0.8, 1.9), support=True),
    "bookshelf": CategorySpec((0.6, 1.2), (0.25, 0.4), (1.2, 2.1)),
    "desk": CategorySpec((1.0, 1.6), (0.5, 0.8), (0.7, 0.78), support=True),
    "nightstand": CategorySpec((0.4, 0.6), (0.35, 0.5), (0.45, 0.65), support=True),
    "refrigerator": CategorySpec((0.6, 0.9), (0.6, 0.8), (1.5, 1.9)),
    "trash can": CategorySpec((0.25, 0.4), (0.25, 0.4), (0.3, 0.7)),
    "ottoman": CategorySpec((0.4, 0.8), (0.4, 0.8), (0.35, 0.5)),
    "tv stand": CategorySpec((1.0, 1.8), (0.35, 0.5), (0.4, 0.6), support=True),
    "box": CategorySpec((0.2, 0.6), (0.2, 0.5), (0.15, 0.5), small=True),
    "lamp": CategorySpec((0.2, 0.35), (0.2, 0.35), (0.3, 0.6), small=True),
    "monitor": CategorySpec((0.45, 0.7), (0.15, 0.25), (0.3, 0.5), small=True),
    "vase": CategorySpec((0.1, 0.25), (0.1, 0.25), (0.2, 0.5), small=True),
}

COLORS = {  # colour word -> RGB
    "white": (235, 235, 230), "black": (35, 35, 38), "gray": (128, 128, 128), "brown": (120, 75, 40),
    "red": (200, 40, 40), "blue": (45, 80, 200), "green": (50, 150, 60), "yellow": (225, 200, 50),
    "orange": (235, 130, 35), "pink": (230, 140, 175), "purple": (125, 60, 160), "beige": (215, 195, 160),
}  # fmt: skip

MATERIALS = ("wood", "metal", "fabric", "plastic", "leather", "glass")


class SyntheticSource:
    """`SceneSource` of procedural rooms.

    `categories` and `colors` (class attributes) are the vocabularies the pipeline draws existence
    negatives from.

    Args:
        num_scenes: number of rooms.
        seed: global seed; scene i uses numpy's generator seeded with [seed, i].
        image_size: (width, height) in pixels.
        frames_per_scene: camera views per room.
        objects_per_scene: (min, max) number of furniture objects.
        camera_height: (min, max) camera height above the floor, meters.
        camera_pitch_deg: (min, max) downward tilt, degrees.
        fov_deg: (min, max) horizontal field of view, degrees.
    """

    categories = tuple(CATEGORIES)
    colors = tuple(COLORS)

    def __init__(
        self,
        num_scenes: int = 10,
        seed: int = 0,
        image_size: tuple = (320, 240),
        frames_per_scene: int = 4,
        objects_per_scene: tuple = (6, 12),
        camera_height: tuple = (0.6, 2.2),
        camera_pitch_deg: tuple = (0.0, 40.0),
        fov_deg: tuple = (50.0, 90.0),
    ):
        width, height = (int(v) for v in image_size)
        checks = {
            "num_scenes": num_scenes >= 1,
            "image_size": width >= 8 and height >= 8,
            "frames_per_scene": frames_per_scene >= 1,
            "objects_per_scene": 1 <= objects_per_scene[0] <= objects_per_scene[1],
            "camera_height": 0.1 <= camera_height[0] <= camera_height[1] <= 2.4,
            "camera_pitch_deg": -30.0 <= camera_pitch_deg[0] <= camera_pitch_deg[1] <= 80.0,
            "fov_deg": 10.0 <= fov_deg[0] <= fov_deg[1] < 170.0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"SyntheticSource: invalid {', '.join(bad)} (got {locals()[bad[0]]!r})")
        self.num_scenes = int(num_scenes)
        self.seed = int(seed)
        self.image_size = (width, height)
        self.frames_per_scene = int(frames_per_scene)
        self.objects_per_scene = tuple(objects_per_scene)
        self.camera_height = tuple(camera_height)
        self.camera_pitch = tuple(np.deg2rad(camera_pitch_deg))
        self.fov = tuple(np.deg2rad(fov_deg))

    def scene_ids(self) -> list[str]:
        return [f"synthetic_{i:05d}" for i in range(self.num_scenes)]

    def load(self, scene_id: str) -> Scene:
        match = re.fullmatch(r"synthetic_(\d+)", scene_id)
        if match is None:
            raise SceneError(f"not a synthetic scene id: {scene_id!r}")
        index = int(match.group(1))
        if not 0 <= index < self.num_scenes:
            raise SceneError(f"synthetic scene {scene_id!r} out of range (num_scenes={self.num_scenes})")
        rng = np.random.default_rng([self.seed, index])
        room = _sample_room(rng)
        objects = _furnish(rng, room, self.objects_per_scene)
        boxes = [Box(o.id, o.center, o.size, o.yaw, COLORS[o.attributes["color"]]) for o in objects]
        return Scene(scene_id=scene_id, objects=objects, frames=self._frames(rng, room, objects, boxes))

    def _frames(self, rng, room, objects, boxes):
        """Lazily rendered views (a generator: frames are made one at a time, in a fixed order)."""
        width, height = self.image_size
        for k in range(self.frames_per_scene):
            intrinsics, pose = self._sample_camera(rng, room, objects)
            out = render_boxes(room, boxes, intrinsics, pose, width, height)
            yield Frame(
                frame_id=f"{k:03d}",
                image=out.image,
                depth=out.depth,
                intrinsics=intrinsics,
                pose=pose,
                instance_masks={i: m for i, m in out.masks.items() if m.any()},
            )

    def _sample_camera(self, rng, room, objects):
        """A camera at a free spot, aimed (with jitter) at a random object; retried until at least
        two objects project into the image, so frames are rarely empty."""
        width, height = self.image_size
        best = None
        for _ in range(30):
            fov = rng.uniform(*self.fov)
            fx = width / (2.0 * np.tan(fov / 2.0))
            fy = fx * rng.uniform(0.95, 1.05)
            cx = width / 2.0 + rng.uniform(-0.04, 0.04) * width
            cy = height / 2.0 + rng.uniform(-0.04, 0.04) * height
            intrinsics = np.array([fx, fy, cx, cy])
            position = np.array(
                [
                    rng.uniform(0.3, room.size[0] - 0.3),
                    rng.uniform(0.3, room.size[1] - 0.3),
                    rng.uniform(*self.camera_height),
                ]
            )
            if any(_inside_footprint(position, o, margin=0.25) and position[2] < o.center[2] + o.size[2] / 2 + 0.3 for o in objects):
                continue
            target = objects[rng.integers(len(objects))]
            heading = np.arctan2(target.center[1] - position[1], target.center[0] - position[0])
            heading += np.deg2rad(rng.uniform(-25.0, 25.0))
            pose = camera_pose(position, heading, rng.uniform(*self.camera_pitch))
            in_view = sum(
                box_pixel_rect(o.center, o.size, o.yaw, intrinsics, pose, width, height) is not None
                and _center_in_image(o, intrinsics, pose, width, height)
                for o in objects
            )
            if best is None or in_view > best[0]:
                best = (in_view, intrinsics, pose)
            if in_view >= 2:
                break
        if best is None:
            raise SceneError("synthetic room too crowded to place a camera")
        return best[1], best[2]


def _center_in_image(obj, intrinsics, pose, width, height) -> bool:
    uv, z = project(obj.center[None, :], intrinsics, pose)
    return bool(z[0] > 0.1 and 0 <= uv[0, 0] < width and 0 <= uv[0, 1] < height)


def _inside_footprint(point, obj, margin: float) -> bool:
    local = np.array([[np.cos(obj.yaw), np.sin(obj.yaw)], [-np.sin(obj.yaw), np.cos(obj.yaw)]]) @ (point[:2] - obj.center[:2])
    return bool(np.all(np.abs(local) <= obj.size[:2] / 2 + margin))


def _sample_room(rng) -> Room:
    def tint(base, spread):
        return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)

    return Room(
        size=np.array([rng.uniform(3.5, 7.0), rng.uniform(3.5, 8.0), rng.uniform(2.5, 3.2)]),
        floor_rgb=tint((150, 115, 85), 35),
        wall_rgb=tuple(tint((200, 198, 190), 25) for _ in range(4)),
        ceiling_rgb=tint((235, 235, 235), 10),
        tile=float(rng.choice([0.3, 0.5, 0.6])),
    )


def _sample_size(rng, spec: CategorySpec) -> np.ndarray:
    return np.array([rng.uniform(*spec.length), rng.uniform(*spec.width), rng.uniform(*spec.height)])


def _furnish(rng, room: Room, count_range) -> list[SceneObject]:
    """Place non-overlapping floor furniture (rejection sampling), then small objects on top of
    supports; colours of one category differ where possible so descriptive names disambiguate."""
    names = list(CATEGORIES)
    floor_names = [n for n in names if not CATEGORIES[n].small]
    small_names = [n for n in names if CATEGORIES[n].small]
    count = int(rng.integers(count_range[0], count_range[1] + 1))
    used_colors: dict[str, list] = {}
    objects: list[SceneObject] = []

    def make(category, center, size, yaw):
        taken = used_colors.setdefault(category, [])
        free = [c for c in COLORS if c not in taken] or list(COLORS)
        color = free[rng.integers(len(free))]
        taken.append(color)
        material = MATERIALS[rng.integers(len(MATERIALS))]
        obj = SceneObject(
            id=len(objects),
            category=category,
            name=f"{color} {category}",
            center=np.asarray(center, dtype=np.float64),
            size=np.asarray(size, dtype=np.float64),
            yaw=float(yaw),
            attributes={"color": color, "material": material},
        )
        objects.append(obj)

    floor_objects = []
    for _ in range(count * 20):
        if len(floor_objects) >= count:
            break
        # Repeats are common in real rooms (several chairs): categories are drawn with replacement.
        category = floor_names[rng.integers(len(floor_names))]
        size = _sample_size(rng, CATEGORIES[category])
        yaw = rng.integers(4) * np.pi / 2 + rng.normal(0, 0.1) if rng.random() < 0.6 else rng.uniform(0, 2 * np.pi)
        half = np.abs(footprint(np.zeros(3), size, yaw)).max(axis=0)
        lo, hi = half + 0.05, room.size[:2] - half - 0.05
        if np.any(lo >= hi):
            continue
        center = np.array([rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1]), size[2] / 2.0])
        poly = footprint(center, size, yaw)
        # Bounding circles first: the exact polygon test runs only for near neighbours.
        near = [o for o in floor_objects if np.linalg.norm(o.center[:2] - center[:2]) < (np.linalg.norm(o.size[:2]) + np.linalg.norm(size[:2])) / 2 + 0.1]
        if any(polygon_distance(poly, footprint(o.center, o.size, o.yaw)) < 0.1 for o in near):
            continue
        make(category, center, size, yaw)
        floor_objects.append(objects[-1])

    for support in [o for o in floor_objects if CATEGORIES[o.category].support]:
        if rng.random() < 0.6:
            category = small_names[rng.integers(len(small_names))]
            size = _sample_size(rng, CATEGORIES[category])
            room_left = np.maximum(support.size[:2] - size[:2], 0.0) / 2.0
            if np.any(size[:2] > support.size[:2]):
                continue
            offset = np.array([rng.uniform(-room_left[0], room_left[0]), rng.uniform(-room_left[1], room_left[1])])
            c, s = np.cos(support.yaw), np.sin(support.yaw)
            xy = support.center[:2] + np.array([c * offset[0] - s * offset[1], s * offset[0] + c * offset[1]])
            top = support.center[2] + support.size[2] / 2.0
            make(category, [xy[0], xy[1], top + size[2] / 2.0], size, support.yaw)
    return objects


__all__ = ["SyntheticSource", "CategorySpec", "CATEGORIES", "COLORS", "MATERIALS"]
