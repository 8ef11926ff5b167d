"""SUN RGB-D, ARKitScenes and ScanNet++ sources on small fixtures written here in each set's layout.

Each fixture is rendered by an exact box ray caster (`render.render_boxes` or the ScanNet test's
analytic caster), then stored the way the set stores it (file names, units, matrix orders, pose
direction, half/full sizes, yaw sign; see each source's docstring for the public tools those come
from). A source that misreads a convention gives boxes that do not cover the rendered objects, so
the masks it derives are compared with the rendered ones, and its answers with the true boxes.
"""

import json
import zlib

import numpy as np
import pytest
from PIL import Image

from dataset_builders.msmu import build_msmu
from dataset_builders.msmu.camera import camera_pose
from dataset_builders.msmu.pipeline import scene_rows
from dataset_builders.msmu.questions import QAConfig
from dataset_builders.msmu.render import Box, Room, render_boxes
from dataset_builders.msmu.scene import SceneError
from dataset_builders.msmu.sources.arkitscenes import ARKitScenesSource
from dataset_builders.msmu.sources.matfile import read_mat_matrix
from dataset_builders.msmu.sources.scannetpp import ScanNetPPSource
from dataset_builders.msmu.sources.sunrgbd import FLIP, SUNRGBDSource
from dataset_builders.msmu.visibility import VisibilityConfig

W, H = 80, 60
K0 = np.array([62.0, 62.0, 39.5, 29.5])  # 0-based pixel centres
# category, center (world), size (own x, y, z), yaw
OBJECTS = [("table", (0.3, 2.4, 0.38), (1.4, 0.6, 0.76), 0.5), ("chair", (-0.9, 2.0, 0.45), (0.5, 0.5, 0.9), 0.0),
           ("sofa", (1.2, 3.2, 0.4), (1.8, 0.8, 0.8), -0.3)]  # fmt: skip
COLORS = [(230, 230, 225), (40, 40, 200), (60, 140, 60)]


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def render_world(pose_world, offset, k=K0, size=(W, H), shift=(0.0, 0.0, 0.0)):
    """Render the OBJECTS room (centers moved by `shift`) with a world->room offset (the ray
    caster's room starts at 0)."""
    room = Room(size=np.array([5.0, 5.0, 3.0]))
    boxes = [Box(i, np.array(c) + shift + offset, np.array(s), yaw, rgb)
             for i, ((_, c, s, yaw), rgb) in enumerate(zip(OBJECTS, COLORS))]
    pose = pose_world.copy()
    pose[:3, 3] += offset
    return render_boxes(room, boxes, k, pose, *size)


# ---------------------------------------------------------------- SUN RGB-D


def write_mat(path, name, matrix, compressed=True):
    """A MATLAB level-5 MAT file holding one double matrix (MathWorks "MAT-File Format")."""
    def element(kind, payload):
        pad = (-len(payload)) % 8
        return np.array([kind, len(payload)], "<u4").tobytes() + payload + b"\0" * pad

    rows, cols = matrix.shape
    body = (element(6, np.array([6, 0], "<u4").tobytes())  # array flags: mxDOUBLE_CLASS
            + element(5, np.array([rows, cols], "<i4").tobytes())
            + element(1, name.encode())
            + element(9, np.asarray(matrix, "<f8").tobytes(order="F")))
    matrix_element = np.array([14, len(body)], "<u4").tobytes() + body
    if compressed:
        packed = zlib.compress(matrix_element)
        data = np.array([15, len(packed)], "<u4").tobytes() + packed
    else:
        data = matrix_element
    header = b"MATLAB 5.0 MAT-file, fixture".ljust(116, b" ") + b"\0" * 8 + np.array([0x0100], "<u2").tobytes() + b"IM"
    path.write_bytes(header + data)


SUN_SHIFT = np.array([0.0, 0.0, -1.3])  # SUN RGB-D's world origin is the camera: the floor is 1.3 m below


def write_sunrgbd_frame(root, frame_id, tilt_deg, compressed=True):
    """One frame of the sunrgbd_trainval export; returns (rendering, camera-to-world pose)."""
    for sub in ("image", "depth", "calib", "label"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    pose = camera_pose(np.zeros(3), heading=np.pi / 2, pitch=np.radians(tilt_deg))  # camera at the origin
    out = render_world(pose, offset=np.array([2.5, 0.5, 1.3]), shift=SUN_SHIFT)
    # Points: every valid pixel back-projected to upright depth coordinates (x right, y forward, z up).
    v, u = np.nonzero(out.depth > 0)
    z = out.depth[v, u]
    cam = np.stack([(u - K0[2]) * z / K0[0], (v - K0[3]) * z / K0[1], z], 1)
    upright = cam @ pose[:3, :3].T
    points = np.concatenate([upright, out.image[v, u] / 255.0], 1)
    write_mat(root / "depth" / f"{frame_id}.mat", "instance", points, compressed)
    Image.fromarray(out.image).save(root / "image" / f"{frame_id}.jpg", quality=98)
    rtilt = pose[:3, :3] @ FLIP
    k1 = np.array([[K0[0], 0, K0[2] + 1], [0, K0[1], K0[3] + 1], [0, 0, 1]])  # MATLAB's 1-based pixels
    (root / "calib" / f"{frame_id}.txt").write_text(
        " ".join(f"{x:.9f}" for x in rtilt.ravel(order="F")) + "\n" + " ".join(f"{x:.6f}" for x in k1.ravel(order="F")) + "\n")
    lines = []
    for category, center, size, yaw in OBJECTS:  # half sizes: w (across the heading), l (along it), h
        name = "night_stand" if category == "chair" and frame_id == "000002" else category
        center = np.array(center) + SUN_SHIFT
        lines.append(f"{name} 10 10 20 20 {center[0]} {center[1]} {center[2]} {size[1] / 2} {size[0] / 2} {size[2] / 2} "
                     f"{np.cos(yaw)} {np.sin(yaw)}")
    lines.append("pillow 5 5 4 4 9 9 9 0.1 0.1 0.1 1 0")  # a box out of view
    (root / "label" / f"{frame_id}.txt").write_text("\n".join(lines) + "\n")
    return out, pose


def test_mat_reader_reads_compressed_and_plain_level5_files(tmp_path):
    matrix = np.arange(12, dtype=float).reshape(4, 3) / 7
    for compressed in (True, False):
        write_mat(tmp_path / "a.mat", "instance", matrix, compressed)
        np.testing.assert_array_equal(read_mat_matrix(tmp_path / "a.mat", "instance"), matrix)
    with pytest.raises(SceneError, match="no matrix named 'points'"):
        read_mat_matrix(tmp_path / "a.mat", "points")
    (tmp_path / "b.mat").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 200)
    with pytest.raises(SceneError, match="v7.3"):
        read_mat_matrix(tmp_path / "b.mat", "instance")


def test_sunrgbd_tilt_sizes_and_heading_as_the_export_stores_them(tmp_path):
    root = tmp_path / "sunrgbd_trainval"
    rendered, pose = write_sunrgbd_frame(root, "000001", tilt_deg=12)
    write_sunrgbd_frame(root, "000002", tilt_deg=-5, compressed=False)
    source = SUNRGBDSource(tmp_path)
    assert source.scene_ids() == ["000001", "000002"] and not source.exhaustive_labels
    assert "nightstand" in source.categories and "pillow" not in source.categories
    scene = source.load("000001")
    frame = scene.frames[0]
    np.testing.assert_allclose(frame.pose[:3, :3], pose[:3, :3], atol=1e-6)  # the 12 degree tilt is in the pose
    np.testing.assert_allclose(frame.depth, rendered.depth, atol=1e-4)  # depth map from the points
    by_category = {o.category: o for o in scene.objects}
    np.testing.assert_allclose(by_category["table"].size, OBJECTS[0][2], atol=1e-6)
    assert np.isclose(by_category["table"].yaw, 0.5) and np.isclose(by_category["sofa"].yaw, -0.3)
    for index, (category, *_rest) in enumerate(OBJECTS):
        mask = frame.instance_masks[by_category[category].id]
        assert iou(mask, rendered.masks[index]) > 0.85, category
    assert "night_stand" not in {o.category for o in source.load("000002").objects}
    # Above/below follow gravity (the tilt is in the pose): the table's center is 1.3 - 0.38 m
    # below the camera.
    qa = QAConfig(qa_per_frame=100, question_categories=("position",), question_kinds=("position.vertical",))
    rows = scene_rows(scene, VisibilityConfig(max_truncation=0.5), qa)
    table = [r for r in rows if "table" in r["question"]]
    assert table and all("below" in r["question"] and r["answer_value"] == [0.92] for r in table)


def test_sunrgbd_builds_and_warns_about_its_vocabulary(tmp_path, caplog):
    root = tmp_path / "sunrgbd_trainval"
    write_sunrgbd_frame(root, "000001", tilt_deg=12)
    with caplog.at_level("WARNING"):
        out = build_msmu("sunrgbd", tmp_path / "out", root=root, test_fraction=0.0, progress=False, verbose=False)
    assert "labels are not exhaustive" in caplog.text
    assert "existence vocabulary: bed, table, sofa, chair, toilet, desk, dresser, nightstand, bookshelf, bathtub" in (
        out / "README.md").read_text()


def test_sunrgbd_bad_label_line_names_the_file(tmp_path):
    root = tmp_path / "sunrgbd_trainval"
    write_sunrgbd_frame(root, "000001", tilt_deg=0)
    (root / "label" / "000001.txt").write_text("table 1 2 3\n")
    with pytest.raises(SceneError, match=r"label/000001.txt: line 1 needs a class and 12 numbers .*, got 3$"):
        SUNRGBDSource(root).load("000001")
    # a binary (non-text) label file is a SceneError naming it, so --skip-bad-scenes skips the frame
    (root / "label" / "000001.txt").write_bytes(b"\xff\xfe\x00table")
    with pytest.raises(SceneError, match=r"label/000001.txt: "):
        SUNRGBDSource(root).load("000001")


# ---------------------------------------------------------------- ARKitScenes


def matrix_to_angle_axis(rot):
    angle = np.arccos(np.clip((np.trace(rot) - 1) / 2, -1, 1))
    if angle < 1e-9:
        return np.zeros(3)
    axis = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]]) / (2 * np.sin(angle))
    return axis * angle


def write_arkit_video(root, video="41069021"):
    folder = root / "Training" / video
    frames = folder / f"{video}_frames"
    for sub in ("lowres_wide", "lowres_depth", "lowres_wide_intrinsics"):
        (frames / sub).mkdir(parents=True, exist_ok=True)
    offset = np.array([2.5, 0.5, 0.0])  # the world floor is at z = 0, like the room's
    traj, rendered = [], {}
    for index, (x, heading, roll) in enumerate([(0.0, np.pi / 2, 0), (0.4, np.pi / 2 + 0.2, 2), (-0.3, np.pi / 2 - 0.15, 1)]):
        stamp = 6845.80601079 + index * 0.1
        name = f"{round(stamp, 3):.3f}"
        pose = camera_pose(np.array([x, 0.0, 1.4]), heading=heading, pitch=0.3)
        # frame 1 is shot upside down, frame 2 sideways (camera rolled by `roll` quarter turns)
        pose[:3, :3] = pose[:3, :3] @ np.linalg.matrix_power(np.array([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]]), roll)
        size = (H, W) if roll % 2 else (W, H)
        k = np.array([K0[1], K0[0], K0[3], K0[2]]) if roll % 2 else K0
        out = render_world(pose, offset, k=k, size=size)
        rendered[name] = (out, pose, roll)
        Image.fromarray(out.image).save(frames / "lowres_wide" / f"{video}_{name}.png")
        Image.fromarray(np.round(out.depth * 1000).astype(np.uint16)).save(frames / "lowres_depth" / f"{video}_{name}.png")
        pincam = name if index != 1 else f"{float(name) + 0.001:.3f}"  # the loader's +-0.001 s lookup
        (frames / "lowres_wide_intrinsics" / f"{video}_{pincam}.pincam").write_text(
            f"{size[0]} {size[1]} {k[0]} {k[1]} {k[2]} {k[3]}\n")
        world_to_camera = np.linalg.inv(pose)
        aa = matrix_to_angle_axis(world_to_camera[:3, :3])
        traj.append(f"{stamp:.8f} {aa[0]} {aa[1]} {aa[2]} " + " ".join(f"{t}" for t in world_to_camera[:3, 3]))
    (frames / "lowres_wide.traj").write_text("\n".join(traj) + "\n")
    data = []
    for category, center, size, yaw in OBJECTS:
        # local axes in the order (length, up, width): the source must find the vertical one itself
        rows = np.array([[np.cos(yaw), np.sin(yaw), 0], [0, 0, 1], [-np.sin(yaw), np.cos(yaw), 0]])
        data.append({"label": category, "uid": category, "segments": {"obbAligned": {
            "centroid": list(center), "axesLengths": [size[0], size[2], size[1]],
            "normalizedAxes": rows.ravel().tolist()}}})
    data.append({"label": "plant", "segments": {"obbAligned": {"centroid": [0, 0, 0], "axesLengths": [1, 1, 1],
                                                               "normalizedAxes": np.eye(3).ravel().tolist()}}})
    (folder / f"{video}_3dod_annotation.json").write_text(json.dumps({"data": data, "skipped": False}))
    return folder, rendered


def test_arkitscenes_traj_pincam_and_oriented_boxes(tmp_path):
    folder, rendered = write_arkit_video(tmp_path)
    source = ARKitScenesSource(tmp_path)
    assert source.scene_ids() == ["41069021"] and source.exhaustive_labels and "monitor" in source.categories
    scene = source.load("41069021")
    assert sorted(o.category for o in scene.objects) == ["chair", "sofa", "table"]  # "plant" is not a 3DOD class
    table = next(o for o in scene.objects if o.category == "table")
    np.testing.assert_allclose(table.size, OBJECTS[0][2], atol=1e-9)
    assert np.isclose(table.yaw, 0.5)
    assert [f.frame_id for f in scene.frames] == sorted(rendered)
    for frame in scene.frames:
        out, pose, roll = rendered[frame.frame_id]
        # the inverse of the world-to-camera .traj line, turned upright (rectify_im.py) for rolled frames
        assert frame.pose[2, 1] < -0.5 and frame.image.shape == (H, W, 3)
        np.testing.assert_allclose(frame.pose[:3, 3], pose[:3, 3], atol=1e-6)
        if roll == 0:
            np.testing.assert_allclose(frame.pose, pose, atol=1e-6)
        for obj in scene.objects:
            index = [c for c, *_ in OBJECTS].index(obj.category)
            if out.masks.get(index) is not None and out.masks[index].sum() > 30:
                truth = np.rot90(out.masks[index], roll)
                assert iou(frame.instance_masks[obj.id], truth) > 0.85, (frame.frame_id, obj.category)


def test_arkitscenes_timestamps_are_ordered_in_time():
    """ARKitScenes frame ids are timestamps ("9999.950"); a video crossing a power of ten must keep
    its time order, so frames are spread evenly over the video (first, middle, last)."""
    from dataset_builders.msmu.sources.scannet import _select_frames

    stamps = [f"{9999.55 + 0.1 * i:.3f}" for i in range(9)]  # 9999.550 .. 10000.350
    assert _select_frames(stamps[::-1], 1, 3) == ["9999.550", "9999.950", "10000.350"]


def test_arkitscenes_binary_traj_is_a_scene_error_naming_the_file(tmp_path):
    folder, _ = write_arkit_video(tmp_path)
    (folder / "41069021_frames" / "lowres_wide.traj").write_bytes(b"\xff\xfe\x00 1 2 3")
    with pytest.raises(SceneError, match=r"41069021_frames/lowres_wide.traj: "):
        ARKitScenesSource(tmp_path).load("41069021")


def test_arkitscenes_missing_pincam_names_the_file(tmp_path):
    folder, rendered = write_arkit_video(tmp_path)
    for path in (folder / "41069021_frames" / "lowres_wide_intrinsics").glob("*.pincam"):
        path.unlink()
    with pytest.raises(SceneError, match=r"lowres_wide_intrinsics/41069021_6845.806.pincam: file is missing"):
        ARKitScenesSource(tmp_path).load("41069021")


# ---------------------------------------------------------------- ScanNet++


def write_scannetpp_scene(root, scene_id="0a5c013435"):
    from test_msmu_scannet import box_mesh, floor_mesh, look_at, raycast, write_ply

    folder = root / "data" / scene_id
    scans, iphone = folder / "scans", folder / "iphone"
    for sub in (scans, iphone / "rgb", iphone / "depth"):
        sub.mkdir(parents=True, exist_ok=True)
    boxes = [(1, "table", (0.0, 2.0, 0.4), (1.2, 0.6, 0.8)), (2, "office chair", (0.9, 2.6, 0.5), (0.5, 0.5, 1.0)),
             (3, "wall", (0.0, 3.4, 1.0), (3.0, 0.1, 2.0))]  # fmt: skip
    verts, faces, colors = [], [], []
    floor_v, floor_f = floor_mesh()
    verts.append(floor_v), faces.append(floor_f), colors.append(np.full((len(floor_v), 3), 150))
    groups, starts = [], []
    for oid, label, center, size in boxes:
        v, f, _ = box_mesh(center, size)
        base = sum(len(x) for x in verts)
        starts.append(base)
        verts.append(v), faces.append(f + base), colors.append(np.tile((200, 60, 40), (len(v), 1)))
        # one segment per vertex, as the toolkit's anno.py assumes
        groups.append({"id": oid, "objectId": oid, "label": label, "segments": list(range(base, base + len(v))),
                       "obb": {}})
    vertices = np.concatenate(verts)
    write_ply(scans / "mesh_aligned_0.05.ply", vertices, np.concatenate(colors).astype(np.uint8), np.concatenate(faces))
    (scans / "segments.json").write_text(json.dumps({"segIndices": list(range(len(vertices)))}))
    (scans / "segments_anno.json").write_text(json.dumps({"sceneId": scene_id, "segGroups": groups}))
    k_rgb = np.array([[124.0, 0, 80.0], [0, 124.0, 60.0], [0, 0, 1]])  # at the RGB resolution, 160x120
    meta = {}
    for index, (eye, target) in enumerate([((0.0, -1.0, 1.4), (0.0, 2.5, 0.6)), ((0.8, -0.6, 1.5), (0.2, 2.4, 0.5))]):
        name = f"frame_{index * 30:06d}"
        pose = look_at(eye, target)
        depth_k = (62.0, 62.0, 40.0, 30.0)  # the toolkit's scaling: every entry times 80 / 160
        depth, ids = raycast(pose, depth_k, (60, 80), [(b[0], b[2], b[3]) for b in boxes])
        Image.fromarray(np.round(depth * 1000).astype(np.uint16)).save(iphone / "depth" / f"{name}.png")
        _, ids_rgb = raycast(pose, (124.0, 124.0, 80.0, 60.0), (120, 160), [(b[0], b[2], b[3]) for b in boxes])
        rgb = np.where(ids_rgb[..., None] > 0, np.array([200, 60, 40]), 150).astype(np.uint8)
        Image.fromarray(rgb).save(iphone / "rgb" / f"{name}.jpg", quality=95)
        meta[name] = {"timestamp": index, "intrinsic": k_rgb.tolist(), "pose": np.eye(4).tolist(),
                      "aligned_pose": pose.tolist(), "imu": {}}
    (iphone / "pose_intrinsic_imu.json").write_text(json.dumps(meta))
    return folder, boxes, meta


def test_scannetpp_mesh_annotations_and_iphone_frames(tmp_path):
    from test_msmu_scannet import raycast

    folder, boxes, meta = write_scannetpp_scene(tmp_path)
    source = ScanNetPPSource(tmp_path, frame_skip=1)
    assert source.scene_ids() == ["0a5c013435"]
    scene = source.load("0a5c013435")
    assert sorted(o.category for o in scene.objects) == ["chair", "table"]  # the wall is structure
    table = next(o for o in scene.objects if o.category == "table")
    np.testing.assert_allclose(table.center, boxes[0][2], atol=1e-5)
    np.testing.assert_allclose(table.size, boxes[0][3], atol=1e-5)
    frames = list(scene.frames)
    assert [f.frame_id for f in frames] == ["frame_000000", "frame_000030"]
    for frame in frames:
        assert frame.image.shape == (60, 80, 3)
        np.testing.assert_allclose(frame.intrinsics, [62.0, 62.0, 40.0, 30.0])
        np.testing.assert_allclose(frame.pose, meta[frame.frame_id]["aligned_pose"])
        _, ids = raycast(np.array(meta[frame.frame_id]["aligned_pose"]), (62.0, 62.0, 40.0, 30.0), (60, 80),
                         [(b[0], b[2], b[3]) for b in boxes])
        assert iou(frame.instance_masks[1], ids == 1) > 0.9
    out = build_msmu("scannetpp", tmp_path / "out", root=tmp_path, test_fraction=0.0, progress=False, verbose=False)
    assert (out / "README.md").is_file()


def test_scannetpp_bad_pose_names_the_file(tmp_path):
    folder, _, meta = write_scannetpp_scene(tmp_path)
    meta["frame_000030"]["aligned_pose"] = np.diag([1.0, 1.0, 0.0, 1.0]).tolist()
    (folder / "iphone" / "pose_intrinsic_imu.json").write_text(json.dumps(meta))
    with pytest.raises(SceneError, match=r"pose_intrinsic_imu.json \[frame_000030\]: pose rotation is singular"):
        ScanNetPPSource(tmp_path, frame_skip=1).load("0a5c013435")
