"""The synthetic scene source: exact depth, masks on their boxes, sizes and cameras in range."""

import numpy as np
import pytest

from dataset_builders.msmu.geometry import point_box_distance
from dataset_builders.msmu.scene import SceneError
from dataset_builders.msmu.sources.synthetic import CATEGORIES, COLORS, SyntheticSource


@pytest.fixture(scope="module")
def scenes():
    source = SyntheticSource(num_scenes=3, seed=11, image_size=(80, 60), frames_per_scene=3)
    return [(scene, list(scene.frames)) for scene in map(source.load, source.scene_ids())]


def _world_points(frame, v, u):
    z = frame.depth[v, u].astype(np.float64)
    fx, fy, cx, cy = frame.intrinsics
    cam = np.stack([(u - cx) / fx * z, (v - cy) / fy * z, z], axis=1)
    return cam @ frame.pose[:3, :3].T + frame.pose[:3, 3]


def test_mask_pixels_lie_on_their_box_and_depth_is_exact(scenes):
    """Back-projecting a mask pixel with its depth lands on that object's box surface: the depth
    is exact metric z and the mask is the visible surface."""
    checked = 0
    for scene, frames in scenes:
        objects = {o.id: o for o in scene.objects}
        for frame in frames:
            assert frame.depth.dtype == np.float32 and np.all(frame.depth > 0)
            for object_id, mask in frame.instance_masks.items():
                v, u = np.nonzero(mask)
                points = _world_points(frame, v, u)
                obj = objects[object_id]
                grown = obj.size + 2e-3  # float32 depth: sub-millimetre slack
                inside = [point_box_distance(p, obj.center, grown, obj.yaw) == 0.0 for p in points]
                shrunk = [point_box_distance(p, obj.center, obj.size - 2e-3, obj.yaw) > 0.0 for p in points]
                assert all(inside) and all(shrunk), f"object {object_id} frame {frame.frame_id}"
                checked += len(points)
    assert checked > 1000


def test_background_is_the_room_shell(scenes):
    """Pixels of no object back-project onto the floor, the ceiling or a wall."""
    for scene, frames in scenes:
        for frame in frames:
            background = np.ones(frame.depth.shape, dtype=bool)
            for mask in frame.instance_masks.values():
                background &= ~mask
            v, u = np.nonzero(background)
            points = _world_points(frame, v, u)
            span = points.max(axis=0)
            on_shell = (np.abs(points[:, 2]) < 1e-3) | (np.abs(points[:, 2] - span[2]) < 1e-3)
            on_shell |= (np.abs(points[:, 0]) < 1e-3) | (np.abs(points[:, 1]) < 1e-3)
            on_shell |= (np.abs(points[:, 0] - span[0]) < 1e-3) | (np.abs(points[:, 1] - span[1]) < 1e-3)
            assert on_shell.mean() > 0.99


def test_objects_are_realistic_and_named(scenes):
    for scene, _ in scenes:
        assert len(scene.objects) >= 6
        for obj in scene.objects:
            spec = CATEGORIES[obj.category]
            length, width = obj.size[0], obj.size[1]
            assert spec.length[0] <= length <= spec.length[1]
            assert spec.width[0] <= width <= spec.width[1]
            assert spec.height[0] <= obj.size[2] <= spec.height[1]
            assert obj.name == f"{obj.attributes['color']} {obj.category}" and obj.attributes["color"] in COLORS
            bottom = obj.center[2] - obj.size[2] / 2
            supports = [o for o in scene.objects if abs(o.center[2] + o.size[2] / 2 - bottom) < 1e-9]
            assert abs(bottom) < 1e-9 or supports, "an object floats"


def test_object_colour_is_the_named_colour(scenes):
    """The brightest rendered pixel of an object has the hue of its descriptive colour."""
    for scene, frames in scenes:
        objects = {o.id: o for o in scene.objects}
        for frame in frames:
            for object_id, mask in frame.instance_masks.items():
                pixels = frame.image[mask].astype(float)
                brightest = pixels[np.argmax(pixels.sum(axis=1))]
                base = np.array(COLORS[objects[object_id].attributes["color"]], dtype=float)
                ratio = brightest / np.maximum(base, 1.0)
                assert np.all(ratio <= 1.0 + 1e-6) and np.ptp(ratio[base > 20]) < 0.05


def test_cameras_vary():
    source = SyntheticSource(num_scenes=6, seed=2, image_size=(40, 30), frames_per_scene=4)
    heights, pitches, focals = [], [], []
    for scene in map(source.load, source.scene_ids()):
        for frame in scene.frames:
            heights.append(frame.pose[2, 3])
            forward = frame.pose[:3, 2]
            pitches.append(np.degrees(np.arcsin(-forward[2])))
            focals.append(frame.intrinsics[0])
            assert 0 <= np.degrees(np.arcsin(-forward[2])) <= 40 + 1e-6
            assert 0.6 <= frame.pose[2, 3] <= 2.2
    # Random height, pitch and focal length: neither image position nor size gives distance alone.
    assert np.ptp(heights) > 0.8 and np.ptp(pitches) > 15 and np.ptp(focals) / np.mean(focals) > 0.3


def test_same_seed_same_scene_and_independent_of_order():
    a = SyntheticSource(num_scenes=3, seed=4, image_size=(32, 24), frames_per_scene=2)
    b = SyntheticSource(num_scenes=3, seed=4, image_size=(32, 24), frames_per_scene=2)
    late = list(b.load("synthetic_00002").frames)  # b loads scene 2 first
    early = list(a.load("synthetic_00002").frames)
    assert all(np.array_equal(x.image, y.image) and np.array_equal(x.depth, y.depth) for x, y in zip(early, late))
    other = SyntheticSource(num_scenes=3, seed=5, image_size=(32, 24), frames_per_scene=2)
    assert not np.array_equal(next(iter(other.load("synthetic_00002").frames)).depth, early[0].depth)


def test_bad_arguments_and_ids():
    with pytest.raises(ValueError, match="image_size"):
        SyntheticSource(image_size=(4, 4))
    with pytest.raises(ValueError, match="camera_pitch_deg"):
        SyntheticSource(camera_pitch_deg=(10, 5))
    source = SyntheticSource(num_scenes=2)
    with pytest.raises(SceneError, match="out of range"):
        source.load("synthetic_00007")
    with pytest.raises(SceneError, match="not a synthetic scene id"):
        source.load("scene0000_00")
