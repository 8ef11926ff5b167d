"""ScanNet scene source on fixtures written here in the layout of ScanNet's official export.

The fixture room (aligned frame: meters, z up) holds a floor and four boxes, meshed like a scan
(subdivided faces, one segment per face). The scene is stored in a raw frame that differs from the
aligned one by a non-identity ``axisAlignment``. Depth (uint16 mm) and colour are made by an
independent analytic ray caster, which also gives the expected instance masks. Frame 0's depth
also holds a "person" that the mesh does not know: the depth test must cut it out of the masks.
"""

import json

import numpy as np
import pytest
from PIL import Image

from dataset_builders.msmu.scene import SceneError
from dataset_builders.msmu.sources.scannet import ScanNetPointCloudSource, ScanNetSource
from dataset_builders.msmu.sources.scannet_io import read_ply

SCENE = "scene0001_00"
DEPTH_SIZE = (60, 80)  # (H, W)
DEPTH_K = (60.0, 60.0, 39.5, 29.5)  # fx, fy, cx, cy
COLOR_SIZE = (120, 160)
COLOR_K = (120.0, 120.0, 79.5, 59.5)
# objectId, raw label, center, size, colour (aligned frame)
BOXES = [
    (1, "table", (0.0, 2.0, 0.4), (1.2, 0.6, 0.8), (235, 235, 230)),
    (2, "chair", (0.3, 3.0, 0.5), (0.5, 0.5, 1.0), (200, 30, 30)),
    (3, "Kitchen Cabinets", (-1.5, 2.5, 0.9), (0.6, 0.5, 1.8), (30, 60, 200)),
    (4, "chair", (1.6, 2.6, 0.45), (0.5, 0.5, 0.9), (20, 20, 20)),
]
FLOOR_ID = 0
FLOOR_EXTENT = 3.5  # the floor is the square |x|, |y| <= 3.5 m
PERSON = ((-0.95, 1.0, 0.9), (0.3, 0.3, 1.8))  # in frame 0's depth only, between camera and cabinet
CAMERAS = [((0.0, -1.0, 1.4), (0.0, 2.5, 0.6)), ((0.6, -0.8, 1.5), (0.0, 2.5, 0.5)),
           ((2.8, 3.6, 1.3), (0.3, 3.0, 0.5)), ((-0.5, -0.9, 1.2), (0.2, 2.6, 0.6))]


def rot_z(degrees: float, translation=(0.0, 0.0, 0.0)) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    m[:3, 3] = translation
    return m


AXIS_ALIGN = rot_z(30.0, (-1.2, 0.7, -0.05))  # raw -> aligned


def look_at(eye, target) -> np.ndarray:
    """Aligned-frame camera-to-world pose, camera x right, y down, z forward."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    z = (target - eye) / np.linalg.norm(target - eye)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    pose[:3, 3] = eye
    return pose


def box_mesh(center, size, n=3):
    """Vertices (V, 3), faces (F, 3), per-vertex face number (V,) of a cube, each face an n x n grid."""
    center, half = np.asarray(center, float), np.asarray(size, float) / 2
    verts, faces, face_of_vertex = [], [], []
    grid = np.linspace(-1, 1, n + 1)
    a, b = np.meshgrid(grid, grid, indexing="ij")
    quads = [(i * (n + 1) + j, (i + 1) * (n + 1) + j, (i + 1) * (n + 1) + j + 1, i * (n + 1) + j + 1)
             for i in range(n) for j in range(n)]
    for number, (axis, sign) in enumerate([(ax, sg) for ax in range(3) for sg in (-1, 1)]):
        others = [k for k in range(3) if k != axis]
        local = np.zeros(((n + 1) ** 2, 3))
        local[:, axis] = sign
        local[:, others[0]], local[:, others[1]] = a.ravel(), b.ravel()
        base = sum(len(v) for v in verts)
        verts.append(center + local * half)
        faces += [(base + q[0], base + q[1], base + q[2]) for q in quads]
        faces += [(base + q[0], base + q[2], base + q[3]) for q in quads]
        face_of_vertex.append(np.full(len(local), number))
    return np.concatenate(verts), np.array(faces), np.concatenate(face_of_vertex)


def floor_mesh(n=12, extent=None):
    extent = FLOOR_EXTENT if extent is None else extent
    grid = np.linspace(-extent, extent, n + 1)
    x, y = np.meshgrid(grid, grid, indexing="ij")
    verts = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1)
    faces = []
    for i in range(n):
        for j in range(n):
            a, b, c, d = i * (n + 1) + j, (i + 1) * (n + 1) + j, (i + 1) * (n + 1) + j + 1, i * (n + 1) + j + 1
            faces += [(a, b, c), (a, c, d)]
    return verts, np.array(faces)


def write_ply(path, vertices, colors, faces, binary=True):
    header = [
        "ply", f"format {'binary_little_endian' if binary else 'ascii'} 1.0", "comment fixture",
        f"element vertex {len(vertices)}", "property float x", "property float y", "property float z",
        "property uchar red", "property uchar green", "property uchar blue", "property uchar alpha",
        f"element face {len(faces)}", "property list uchar int vertex_indices", "end_header",
    ]
    if binary:
        vtable = np.zeros(len(vertices), [("xyz", "<f4", 3), ("rgba", "u1", 4)])
        vtable["xyz"], vtable["rgba"][:, :3], vtable["rgba"][:, 3] = vertices, colors, 255
        ftable = np.zeros(len(faces), [("n", "u1"), ("idx", "<i4", 3)])
        ftable["n"], ftable["idx"] = 3, faces
        path.write_bytes(("\n".join(header) + "\n").encode() + vtable.tobytes() + ftable.tobytes())
    else:
        rows = [f"{x:.7f} {y:.7f} {z:.7f} {r} {g} {b} 255" for (x, y, z), (r, g, b) in zip(vertices, colors)]
        rows += [f"3 {i} {j} {k}" for i, j, k in faces]
        path.write_text("\n".join(header + rows) + "\n")


def raycast(pose, intrinsics, size, boxes, floor=True):
    """Analytic depth (z along the optical axis) and ids of the nearest surface per pixel centre.

    boxes: list of (id, center, size). Floor id: FLOOR_ID; nothing: -1."""
    fx, fy, cx, cy = intrinsics
    rows, cols = np.mgrid[0:size[0], 0:size[1]]
    d_cam = np.stack([(cols - cx) / fx, (rows - cy) / fy, np.ones(size)], -1).reshape(-1, 3)
    dirs, eye = d_cam @ pose[:3, :3].T, pose[:3, 3]
    best, ids = np.full(len(dirs), np.inf), np.full(len(dirs), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for ident, center, extent in boxes:
            lo, hi = np.asarray(center) - np.asarray(extent) / 2, np.asarray(center) + np.asarray(extent) / 2
            t1, t2 = (lo - eye) / dirs, (hi - eye) / dirs
            near, far = np.minimum(t1, t2).max(1), np.maximum(t1, t2).min(1)
            t = np.where((near <= far) & (near > 0), near, np.inf)
            ids, best = np.where(t < best, ident, ids), np.minimum(t, best)
        if floor:
            t = np.where(dirs[:, 2] < 0, -eye[2] / dirs[:, 2], np.inf)
            landing = eye[:2] + np.nan_to_num(t[:, None] * dirs[:, :2], posinf=1e9)
            t = np.where(np.abs(landing).max(1) <= FLOOR_EXTENT, t, np.inf)  # the floor mesh's square
            ids, best = np.where(t < best, FLOOR_ID, ids), np.minimum(t, best)
    # d_cam has unit z, so the ray parameter is the depth along the optical axis.
    return np.where(np.isfinite(best), best, 0.0).reshape(size), ids.reshape(size)


def object_boxes(person: bool):
    boxes = [(oid, c, s) for oid, _, c, s, _ in BOXES]
    return boxes + ([(-2, *PERSON)] if person else [])


def write_scene(folder, binary_ply=True):
    """Writes the fixture scene; returns the aligned camera poses."""
    raw_from_aligned = np.linalg.inv(AXIS_ALIGN)
    for sub in ("color", "depth", "pose", "intrinsic"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    verts, faces, colors, segs = [], [], [], []
    floor_v, floor_f = floor_mesh()
    verts.append(floor_v)
    faces.append(floor_f)
    colors.append(np.full((len(floor_v), 3), 150))
    segs.append(np.zeros(len(floor_v), int))
    groups = [{"id": FLOOR_ID, "objectId": FLOOR_ID, "segments": [0], "label": "floor"}]
    for oid, label, center, size, color in BOXES:
        v, f, face_number = box_mesh(center, size)
        base = sum(len(x) for x in verts)
        verts.append(v)
        faces.append(f + base)
        colors.append(np.tile(color, (len(v), 1)))
        segs.append(100 * oid + face_number)
        groups.append({"id": oid, "objectId": oid, "segments": [100 * oid + k for k in range(6)], "label": label})
    raw_vertices = np.concatenate(verts) @ raw_from_aligned[:3, :3].T + raw_from_aligned[:3, 3]
    write_ply(folder / f"{SCENE}_vh_clean_2.ply", raw_vertices, np.concatenate(colors).astype(np.uint8),
              np.concatenate(faces), binary=binary_ply)
    (folder / f"{SCENE}_vh_clean_2.0.010000.segs.json").write_text(
        json.dumps({"sceneId": SCENE, "segIndices": np.concatenate(segs).tolist()}))
    (folder / f"{SCENE}.aggregation.json").write_text(
        json.dumps({"sceneId": SCENE, "appId": "fixture", "segGroups": groups}))
    (folder / f"{SCENE}.txt").write_text(
        "colorHeight = 120\ncolorWidth = 160\naxisAlignment = "
        + " ".join(f"{v:.9f}" for v in AXIS_ALIGN.ravel()) + "\nsceneType = Living room\n")
    for name, (fx, fy, cx, cy) in (("intrinsic_depth", DEPTH_K), ("intrinsic_color", COLOR_K)):
        np.savetxt(folder / "intrinsic" / f"{name}.txt", [[fx, 0, cx, 0], [0, fy, cy, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    for name in ("extrinsic_depth", "extrinsic_color"):
        np.savetxt(folder / "intrinsic" / f"{name}.txt", np.eye(4))
    palette = {oid: color for oid, _, _, _, color in BOXES} | {FLOOR_ID: (150, 150, 150), -2: (90, 60, 40), -1: (0, 0, 0)}
    poses = []
    for index, (eye, target) in enumerate(CAMERAS):
        pose = look_at(eye, target)
        poses.append(pose)
        np.savetxt(folder / "pose" / f"{index}.txt", raw_from_aligned @ pose)
        boxes = object_boxes(person=index == 0)
        depth, _ = raycast(pose, DEPTH_K, DEPTH_SIZE, boxes)
        Image.fromarray(np.round(depth * 1000).astype(np.uint16)).save(folder / "depth" / f"{index}.png")
        _, ids = raycast(pose, COLOR_K, COLOR_SIZE, boxes)
        rgb = np.array([palette[i] for i in ids.ravel()], np.uint8).reshape(*COLOR_SIZE, 3)
        Image.fromarray(rgb).save(folder / "color" / f"{index}.jpg", quality=95)
    return poses


@pytest.fixture(scope="module")
def scannet_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("scannet")
    poses = write_scene(root / SCENE)
    return root, poses


@pytest.fixture(scope="module")
def scene(scannet_root):
    return ScanNetSource(scannet_root[0], frame_skip=1, max_frames_per_scene=None).load(SCENE)


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_lists_scene_and_selects_frames(scannet_root):
    source = ScanNetSource(scannet_root[0])
    assert source.scene_ids() == [SCENE]
    assert list(source.load(SCENE).frames.frame_ids) == ["0"]  # default frame_skip 10
    picked = ScanNetSource(scannet_root[0], frame_skip=1, max_frames_per_scene=2).load(SCENE)
    assert picked.frames.frame_ids == ["0", "3"]
    assert ScanNetSource(scannet_root[0] / SCENE).scene_ids() == [SCENE]  # a scene folder as root
    assert source.categories is None  # export layout: the builder's default negatives vocabulary


def test_boxes_are_the_generated_boxes_in_the_aligned_frame(scene):
    by_id = {o.id: o for o in scene.objects}
    assert sorted(by_id) == [1, 2, 3, 4]  # the floor is skipped
    for oid, _, center, size, _ in BOXES:
        np.testing.assert_allclose(by_id[oid].center, center, atol=1e-5)
        np.testing.assert_allclose(by_id[oid].size, size, atol=1e-5)
        assert by_id[oid].yaw == 0.0
        assert by_id[oid].points.shape[1] == 3
    assert [by_id[i].category for i in (1, 2, 3, 4)] == ["table", "chair", "cabinet", "chair"]
    assert [by_id[i].name for i in (1, 2, 3, 4)] == ["white table", "red chair", "blue cabinet", "black chair"]


def test_poses_are_composed_with_the_axis_alignment(scene, scannet_root):
    _, poses = scannet_root
    assert len(scene.frames) == len(CAMERAS)
    for frame, expected in zip(scene.frames, poses):
        np.testing.assert_allclose(frame.pose, expected, atol=1e-6)
        raw = np.loadtxt(scannet_root[0] / SCENE / "pose" / f"{frame.frame_id}.txt")
        np.testing.assert_allclose(frame.pose, AXIS_ALIGN @ raw, atol=1e-6)


def test_frames_load_at_depth_resolution(scene, scannet_root):
    frame = scene.frames[1]
    assert frame.image.shape == (*DEPTH_SIZE, 3) and frame.image.dtype == np.uint8
    assert frame.depth.dtype == np.float32 and frame.depth.shape == DEPTH_SIZE
    np.testing.assert_allclose(frame.intrinsics, DEPTH_K)
    expected, ids = raycast(scannet_root[1][1], DEPTH_K, DEPTH_SIZE, object_boxes(False))
    np.testing.assert_allclose(frame.depth, expected, atol=6e-4)  # mm quantisation
    # The colour was resized to the depth grid: a pixel deep inside the table is the table's white.
    rows, cols = np.nonzero(ids == 1)
    centre = np.argmin((rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2)
    assert np.all(frame.image[rows[centre], cols[centre]] > 200)


def test_masks_match_the_ray_cast_visible_surface(scene, scannet_root):
    for frame, pose in zip(scene.frames, scannet_root[1]):
        _, ids = raycast(pose, DEPTH_K, DEPTH_SIZE, object_boxes(person=frame.frame_id == "0"))
        assert set(frame.instance_masks) <= {1, 2, 3, 4}
        for oid in (1, 2, 3, 4):
            expected = ids == oid
            mask = frame.instance_masks.get(oid, np.zeros(DEPTH_SIZE, bool))
            assert mask.dtype == bool and mask.shape == DEPTH_SIZE
            if expected.sum() >= 20:
                assert iou(mask, expected) > 0.97, (frame.frame_id, oid, iou(mask, expected))
            assert (mask & ~expected).sum() <= max(2, 0.02 * expected.sum())


def test_occluded_object_has_a_smaller_mask(scene, scannet_root):
    frame = scene.frames[0]
    _, alone = raycast(scannet_root[1][0], DEPTH_K, DEPTH_SIZE, [(2, BOXES[1][2], BOXES[1][3])], floor=False)
    silhouette = alone == 2
    mask = frame.instance_masks[2]  # the red chair, behind the table from camera 0
    assert silhouette.sum() > 100
    assert 0 < mask.sum() < 0.8 * silhouette.sum()
    assert not (mask & ~silhouette).any()
    # From camera 2, beside it, nothing is in front of the chair.
    _, alone = raycast(scannet_root[1][2], DEPTH_K, DEPTH_SIZE, [(2, BOXES[1][2], BOXES[1][3])], floor=False)
    assert iou(scene.frames[2].instance_masks[2], alone == 2) > 0.97


def test_depth_test_removes_what_the_mesh_does_not_know(scannet_root):
    root, poses = scannet_root
    _, person = raycast(poses[0], DEPTH_K, DEPTH_SIZE, [(-2, *PERSON)], floor=False)
    _, without_person = raycast(poses[0], DEPTH_K, DEPTH_SIZE, object_boxes(False))
    hidden = (person == -2) & (without_person == 3)  # cabinet pixels the person covers
    assert hidden.sum() > 20
    strict = ScanNetSource(root, frame_skip=1).load(SCENE).frames[0]
    assert not (strict.instance_masks[3] & hidden).any()
    # With a tolerance larger than the room the depth test passes everything: the person leaks in.
    loose = ScanNetSource(root, frame_skip=1, depth_tolerance=100.0).load(SCENE).frames[0]
    assert (loose.instance_masks[3] & hidden).sum() == hidden.sum()


def test_ascii_ply_reads_like_binary(tmp_path, scannet_root):
    write_scene(tmp_path / SCENE, binary_ply=False)
    binary = read_ply(scannet_root[0] / SCENE / f"{SCENE}_vh_clean_2.ply")
    ascii_ = read_ply(tmp_path / SCENE / f"{SCENE}_vh_clean_2.ply")
    np.testing.assert_allclose(ascii_[0], binary[0], atol=1e-6)
    np.testing.assert_array_equal(ascii_[1], binary[1])
    np.testing.assert_array_equal(ascii_[2], binary[2])
    objects = ScanNetSource(tmp_path).load(SCENE).objects
    np.testing.assert_allclose(objects[0].size, BOXES[0][3], atol=1e-5)


def _corrupt(tmp_path, edit):
    folder = tmp_path / SCENE
    write_scene(folder)
    target = edit(folder)
    with pytest.raises(SceneError) as info:
        scene = ScanNetSource(tmp_path, frame_skip=1).load(SCENE)
        list(scene.frames)
    assert str(target) in str(info.value)
    return str(info.value)


def _rewrite(name: str, change, binary: bool = False):
    """An edit for `_corrupt`: the scene file `name` (`{scene}` = the scene id) rewritten as `change(content)`."""
    def edit(folder):
        path = folder / name.format(scene=SCENE)
        if binary:
            path.write_bytes(change(path.read_bytes()))
        else:
            path.write_text(change(path.read_text()))
        return path
    return edit


def _removed(name: str):
    def edit(folder):
        (folder / name).unlink()
        return folder / name
    return edit


def _nan_vertex(folder):
    path = folder / f"{SCENE}_vh_clean_2.ply"
    vertices, colors, faces = read_ply(path)
    vertices[7] = np.nan
    write_ply(path, vertices, colors, faces)
    return path


def _duplicate_object_id(text: str) -> str:
    data = json.loads(text)
    data["segGroups"][2]["objectId"] = data["segGroups"][1]["objectId"]
    return json.dumps(data)


def _half_size_depth(folder):
    path = folder / "depth" / "1.png"
    with Image.open(path) as png:
        png.resize((DEPTH_SIZE[1] // 2, DEPTH_SIZE[0] // 2), Image.NEAREST).save(path)
    return path


def _zero_depth(folder):
    path = folder / "depth" / "2.png"
    Image.fromarray(np.zeros(DEPTH_SIZE, np.uint16)).save(path)
    return path


AGGREGATION, SEGMENTS = "{scene}.aggregation.json", "{scene}_vh_clean_2.0.010000.segs.json"
# (id, edit, what the error says besides the file's path: "" = only the path); each error must name the file.
CORRUPTIONS = [
    ("missing_pose", _removed("pose/2.txt"), "missing"),
    ("truncated_ply", _rewrite("{scene}_vh_clean_2.ply", lambda data: data[:-100], binary=True), "truncated"),
    ("malformed_aggregation_json", _rewrite(AGGREGATION, lambda text: text[:-20]), "malformed JSON"),
    ("missing_axis_alignment", _rewrite("{scene}.txt", lambda _: "colorHeight = 120\nsceneType = Living room\n"),
     "axisAlignment"),
    ("segments_of_another_mesh", _rewrite(SEGMENTS, lambda _: json.dumps({"segIndices": [0, 1, 2]})),
     "one integer per mesh vertex"),
    ("corrupt_depth_png", _rewrite("depth/1.png", lambda _: b"\x89PNG\r\n\x1a\n garbage", binary=True), ""),
    ("nan_mesh_vertices", _nan_vertex, "NaN or infinite coordinates (first: vertex 7)"),
    ("duplicate_object_ids", _rewrite(AGGREGATION, _duplicate_object_id), "duplicate objectId(s) [1]"),
    ("all_negative_segment_ids",
     _rewrite(SEGMENTS, lambda text: json.dumps({"segIndices": [-1] * len(json.loads(text)["segIndices"])})),
     "every segment id is negative"),
    ("depth_of_another_size_than_its_intrinsics", _half_size_depth, "intrinsics are for another resolution"),
    ("all_zero_depth", _zero_depth, "all zero"),
]


@pytest.mark.parametrize("edit, message", [case[1:] for case in CORRUPTIONS], ids=[case[0] for case in CORRUPTIONS])
def test_corrupt_scene_file_names_the_file(tmp_path, edit, message):
    assert message in _corrupt(tmp_path, edit)


def test_untracked_frames_are_skipped(tmp_path):
    write_scene(tmp_path / SCENE)
    np.savetxt(tmp_path / SCENE / "pose" / "1.txt", np.full((4, 4), -np.inf))
    scene = ScanNetSource(tmp_path, frame_skip=1).load(SCENE)
    assert scene.frames.frame_ids == ["0", "2", "3"]


def test_singular_pose_names_the_file_and_is_skipped_by_skip_bad_scenes(tmp_path, caplog):
    from dataset_builders.msmu import build_msmu

    def edit(folder):
        path = folder / "pose" / "0.txt"  # frame 0: the one the builder's default frame_skip keeps
        np.savetxt(path, np.diag([1.0, 1.0, 0.0, 1.0]))
        return path
    assert "singular" in _corrupt(tmp_path, edit)
    with caplog.at_level("WARNING"), pytest.raises(ValueError, match="no rows were written"):
        build_msmu("scannet", tmp_path / "out", scannet_root=tmp_path, skip_bad_scenes=True, progress=False,
                   verbose=False)
    assert f"skipping scene {SCENE}: {tmp_path / SCENE / 'pose' / '0.txt'}" in caplog.text


def test_bad_options_raise():
    with pytest.raises(ValueError, match="frame_skip"):
        ScanNetSource(".", frame_skip=0)
    with pytest.raises(SceneError, match="missing"):
        ScanNetSource("/nonexistent/scannet")


def write_point_cloud_scene(folder, poses):
    """The compact layout of ../shared/data/scannet_scene0000_00, from the same fixture room."""
    (folder / "color").mkdir(parents=True)
    rng = np.random.default_rng(0)
    points, instance = [], []
    for oid, _, center, size, _ in BOXES:  # dense random points on each box's surface
        v, _, _ = box_mesh(center, size, n=30)
        points.append(v + rng.normal(0, 1e-4, v.shape))
        instance.append(np.full(len(v), oid + 10))  # point instance labels differ from box ids
    points = np.concatenate(points)
    # The aligned-frame point cloud stays the same; its boxes are exact, so matching is exact.
    np.save(folder / "points_xyzrgb.npy", np.concatenate([points, np.full((len(points), 3), 200.0)], 1))
    np.save(folder / "points_ins_label.npy", np.concatenate(instance).astype(np.uint32))
    frames = []
    for index, pose in enumerate(poses[:2]):
        Image.new("RGB", COLOR_SIZE[::-1], (90, 90, 90)).save(folder / "color" / f"{index:05d}.jpg")
        frames.append({"image": f"color/{index:05d}.jpg",
                       "camera_to_world_4x4": (np.linalg.inv(AXIS_ALIGN) @ pose).tolist()})
    k = COLOR_K
    meta = {"scene_id": SCENE, "color_intrinsics_4x4": [[k[0], 0, k[2], 0], [0, k[1], k[3], 0], [0, 0, 1, 0], [0, 0, 0, 1]],
            "axis_align_matrix_4x4": AXIS_ALIGN.tolist(), "frames": frames,
            "boxes": [{"name": label, "instance_index": oid, "center": list(c), "size": list(s)}
                      for oid, label, c, s, _ in BOXES]
            # An annotated box whose points are not in the cloud: an object that is never visible.
            + [{"name": "bed", "instance_index": 9, "center": [2.5, -2.5, 0.3], "size": [2.0, 1.6, 0.6]}]}
    (folder / "scene.json").write_text(json.dumps(meta))


def test_point_cloud_layout_renders_depth_and_masks(tmp_path, scannet_root):
    poses = scannet_root[1]
    write_point_cloud_scene(tmp_path / "compact", poses)
    source = ScanNetSource(tmp_path, point_cloud_options={"image_scale": 0.5, "point_radius": 0.02})
    assert source.scene_ids() == ["compact"]
    scene = source.load("compact")
    objects = {o.id: o for o in scene.objects}
    assert {i: o.category for i, o in objects.items()} == {1: "table", 2: "chair", 3: "cabinet", 4: "chair", 9: "bed"}
    assert objects[1].name == "white table" and objects[9].name == "bed" and objects[9].points is None
    frame = scene.frames[0]
    # 160x120 colour at scale 0.5 is exactly the 80x60 depth grid with the depth intrinsics.
    assert frame.image.shape == (*DEPTH_SIZE, 3)
    np.testing.assert_allclose(frame.intrinsics, DEPTH_K, atol=1e-6)
    np.testing.assert_allclose(frame.pose, poses[0], atol=1e-9)
    expected_depth, ids = raycast(poses[0], DEPTH_K, DEPTH_SIZE, object_boxes(False), floor=False)
    both = (frame.depth > 0) & (expected_depth > 0)
    assert both.sum() > 0.9 * (expected_depth > 0).sum()
    assert np.median(np.abs(frame.depth[both] - expected_depth[both])) < 0.01
    for oid in (1, 2, 3):
        assert iou(frame.instance_masks[oid], ids == oid) > 0.75, oid
    assert all(9 not in f.instance_masks for f in scene.frames)


def test_point_cloud_layout_bad_json_names_the_file(tmp_path, scannet_root):
    write_point_cloud_scene(tmp_path / "compact", scannet_root[1])
    meta = json.loads((tmp_path / "compact" / "scene.json").read_text())
    del meta["axis_align_matrix_4x4"]
    (tmp_path / "compact" / "scene.json").write_text(json.dumps(meta))
    with pytest.raises(SceneError, match="scene.json.*axis_align_matrix_4x4"):
        ScanNetPointCloudSource(tmp_path / "compact").load("compact")
    (tmp_path / "compact" / "points_ins_label.npy").write_bytes(b"not numpy")
    with pytest.raises(SceneError, match="points_ins_label.npy"):
        ScanNetPointCloudSource(tmp_path / "compact")._load_array("points_ins_label.npy", ())


def test_builds_an_msmu_folder_from_the_export_layout(tmp_path, scannet_root):
    """`build_msmu(source="scannet")` (the CLI's `--source scannet --scannet-root DIR`) end to end:
    every object record and size answer comes from the generated boxes."""
    import datasets

    from dataset_builders.msmu import build_msmu

    out = build_msmu(source="scannet", output_dir=tmp_path / "msmu", scannet_root=scannet_root[0],
                     frames_per_scene=4, seed=0, test_fraction=0.0)
    rows = datasets.load_dataset(str(out), split="train")
    assert len(rows) > 0 and set(rows["scene_id"]) == {SCENE}
    boxes = {oid: np.array(size) for oid, _, _, size, _ in BOXES}
    checked = 0
    for row in rows:
        assert row["image"].size == DEPTH_SIZE[::-1]
        np.testing.assert_allclose(row["intrinsics"], DEPTH_K)
        for record in row["objects"]:
            np.testing.assert_allclose(record["size"], boxes[record["id"]], atol=1e-5)
        if rows.features["category"].int2str(row["category"]) == "scale_estimation":
            sx, sy, sz = boxes[row["question_objects"][0]]
            dims = {"length": max(sx, sy), "width": min(sx, sy), "height": sz}
            question = row["question"].lower()
            kind = ("height" if any(w in question for w in ("tall", "height", "high")) else
                    "width" if any(w in question for w in ("wide", "width")) else "length")
            expected = list(dims.values()) if len(row["answer_value"]) == 3 else [dims[kind]]
            np.testing.assert_allclose(row["answer_value"], [round(float(v), 2) for v in expected], atol=1e-6)
            checked += 1
    assert checked > 0


def test_default_vocabulary_uses_the_cleaned_category_names():
    """Existence negatives name categories as `clean_category` does ("television", not "tv")."""
    from dataset_builders.msmu.builder import DEFAULT_VOCABULARY
    from dataset_builders.msmu.sources.scannet_labels import clean_category

    assert clean_category("tv") == "television" and "television" in DEFAULT_VOCABULARY
    assert all(clean_category(c) == c for c in DEFAULT_VOCABULARY)
