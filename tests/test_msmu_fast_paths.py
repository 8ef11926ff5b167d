"""The faster paths of the MSMU build equal, bit for bit, the plain computations they replaced:
world rays by broadcasting, the occlusion test on ray planes, the writer's Arrow table without a
fingerprint. (The z-buffers are checked against brute force in `test_msmu_splat.py`; the whole
ScanNet build before/after by `benchmarks/bench_scannet_build.py` on the real sample.)"""

import io
from dataclasses import replace

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import Dataset

from dataset_builders.msmu.camera import box_pixel_rect, pixel_rays, world_ray_planes, world_rays
from dataset_builders.msmu.features import msmu_features
from dataset_builders.msmu.geometry import ray_box_hits, rotate_rows
from dataset_builders.msmu.pipeline import frame_rows, scene_rng
from dataset_builders.msmu.questions import QAConfig
from dataset_builders.msmu.sources.synthetic import SyntheticSource
from dataset_builders.msmu.visibility import VisibilityConfig, occlusion
from dataset_builders.msmu.writer import rows_table


@pytest.fixture(scope="module")
def scenes():
    """The source and its scenes, each with its frames in a list (the source makes them lazily, once)."""
    source = SyntheticSource(num_scenes=3, seed=5, image_size=(80, 60), frames_per_scene=3)
    scenes = [source.load(scene_id) for scene_id in source.scene_ids()]
    return source, [replace(scene, frames=list(scene.frames)) for scene in scenes]


def plain_occlusion(obj, frame, mask, tolerance):
    """The occlusion test spelled out on the pixels of the box's rectangle, each with its own (N, 3)
    world ray (the rotated pixel ray), as it was before the ray planes."""
    height, width = frame.depth.shape
    rect = box_pixel_rect(obj.center, obj.size, obj.yaw, frame.intrinsics, frame.pose, width, height)
    visible = np.count_nonzero(mask)
    if rect is None:
        return float(visible == 0)
    rows, cols = np.mgrid[rect[2] : rect[3], rect[0] : rect[1]]
    pixels = (rows * width + cols).ravel()
    rays = rotate_rows(pixel_rays(frame.intrinsics, width, height)[pixels].astype(np.float32), frame.pose[:3, :3])
    t = ray_box_hits(frame.pose[:3, 3], rays.T, obj.center, obj.size, obj.yaw)
    depth = frame.depth.ravel()[pixels]
    occluded = np.count_nonzero(np.isfinite(t) & ~mask.ravel()[pixels] & (depth > 0) & (depth < t - tolerance))
    return 1.0 if occluded + visible == 0 else occluded / (occluded + visible)


@pytest.mark.parametrize("seed", [0, 1])
def test_world_rays_by_broadcasting_are_the_rotated_pixel_rays(seed):
    rng = np.random.default_rng(seed)
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    pose = np.eye(4)
    pose[:3, :3] = rot
    intrinsics, width, height = (rng.uniform(50, 600), rng.uniform(50, 600), 31.7, 20.2), 64, 41
    plain = rotate_rows(pixel_rays(intrinsics, width, height).astype(np.float32), rot).T
    planes = world_ray_planes(intrinsics, pose, width, height)
    assert planes.shape == (3, height, width) and planes.dtype == np.float32
    assert np.array_equal(planes.reshape(3, -1).T, plain)
    assert np.array_equal(world_rays(intrinsics, pose, width, height), plain)


def test_occlusion_on_ray_planes_equals_the_plain_test(scenes):
    _, loaded = scenes
    checked = 0
    for scene in loaded:
        for frame in scene.frames:
            height, width = frame.depth.shape
            planes = world_ray_planes(frame.intrinsics, frame.pose, width, height)
            for obj in scene.objects:
                mask = frame.instance_masks.get(obj.id)
                if mask is None or not mask.any():
                    continue
                for tolerance in (0.0, 0.02):
                    assert occlusion(obj, frame, mask, tolerance, planes) == plain_occlusion(obj, frame, mask, tolerance)
                checked += 1
    assert checked > 10


def test_writer_table_equals_dataset_from_list(scenes):
    source, loaded = scenes
    qa = QAConfig(qa_per_frame=6, categories=source.categories, colors=source.colors)
    rows = [row for scene in loaded for index, frame in enumerate(scene.frames)
            for row in frame_rows(scene, frame, VisibilityConfig(), qa, scene_rng(0, scene.scene_id, index))]
    assert len(rows) > 20
    features = msmu_features()
    want = Dataset.from_list(rows, features=features).data.table
    got = rows_table(rows, features)
    assert got.column_names == list(rows[0])  # the rows' key order (depth last), as from_list
    assert got.equals(want) and got.schema.equals(want.schema, check_metadata=True)
    files = []
    for table in (got, want):
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        files.append(buffer.getvalue())
    assert files[0] == files[1]
