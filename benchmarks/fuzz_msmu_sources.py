"""Fuzz of the MSMU scene sources: bad frames, boxes and files -> a clear error, never a crash.

    python benchmarks/fuzz_msmu_sources.py

Feeds the generic rgbd source (in memory and its folder layout) and the SUN RGB-D, ARKitScenes and
ScanNet++ readers corrupted fields and files, built from the test fixtures, and counts crashes: any
exception other than `SceneError` (which names scene, frame or file, and is what `--skip-bad-scenes`
skips; a bare ValueError would end the build). Prints the count of inputs and of crashes; exits 1
when there is a crash.
"""

import collections
import copy
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_msmu_public_sets import write_arkit_video, write_scannetpp_scene, write_sunrgbd_frame  # noqa: E402
from test_msmu_rgbd import rendered_room, write_folder_layout  # noqa: E402

from dataset_builders.msmu.pipeline import scene_rows  # noqa: E402
from dataset_builders.msmu.questions import QAConfig  # noqa: E402
from dataset_builders.msmu.scene import SceneError  # noqa: E402
from dataset_builders.msmu.sources.arkitscenes import ARKitScenesSource  # noqa: E402
from dataset_builders.msmu.sources.rgbd import Box3D, RGBDFolderSource, RGBDFrame, scene_from_rgbd  # noqa: E402
from dataset_builders.msmu.sources.scannetpp import ScanNetPPSource  # noqa: E402
from dataset_builders.msmu.sources.sunrgbd import SUNRGBDSource  # noqa: E402
from dataset_builders.msmu.visibility import VisibilityConfig  # noqa: E402

CRASHES: list = []
COUNT = [0]


def run(label: str, fn) -> None:
    COUNT[0] += 1
    try:
        fn()
    except SceneError:
        pass
    except Exception as err:  # noqa: BLE001  (a crash is what this counts)
        CRASHES.append((label, type(err).__name__, str(err)[:100]))


def questions(source, scene_id):
    scene_rows(source.load(scene_id), VisibilityConfig(), QAConfig(categories=tuple(getattr(source, "categories", None) or ())))


def fuzz_rgbd(tmp: Path) -> None:
    frame, _, boxes = rendered_room()
    values = [None, "x", [], [1], np.nan, np.inf, -1, 0, 1e30, [[1, 2], [3, 4]], np.zeros((2, 2, 2)), {"a": 1}, True,
              np.zeros(4), np.zeros((3, 3)), np.eye(4) * 2]
    for field in ("frame_id", "image", "depth", "intrinsics", "pose"):
        for value in values:
            bad = RGBDFrame(frame.frame_id, frame.image, frame.depth, frame.intrinsics, frame.pose)
            setattr(bad, field, value)
            run(f"frame.{field}={value!r:.20}", lambda: scene_rows(scene_from_rgbd("s", [bad], boxes), VisibilityConfig(), QAConfig()))
    for field in ("category", "center", "size", "yaw", "frame_id", "name", "id"):
        for value in values:
            bad_boxes = [Box3D(b.category, b.center, b.size, b.yaw) for b in boxes]
            setattr(bad_boxes[0], field, value)
            run(f"box.{field}={value!r:.20}", lambda: scene_rows(scene_from_rgbd("s", [frame], bad_boxes), VisibilityConfig(), QAConfig()))
    root = write_folder_layout(tmp / "scans")
    path = root / "room_a" / "scene.json"
    meta0 = json.loads(path.read_text())
    junk = [None, 1, "x", [], [1, 2], {"a": 1}, -5, "../../etc/passwd", [[1] * 4] * 4]
    keys = ["frames", "boxes", "depth_scale", "categories", "exhaustive_labels"]
    keys += [f"frames.0.{k}" for k in ("id", "image", "depth", "intrinsics", "pose")]
    keys += [f"boxes.0.{k}" for k in ("category", "center", "size", "yaw", "frame", "name", "id")]
    for key in keys:
        for value in junk:
            meta = copy.deepcopy(meta0)
            *parents, last = key.split(".")
            target = meta
            for part in parents:
                target = target[int(part)] if part.isdigit() else target[part]
            target[last] = value
            path.write_text(json.dumps(meta))
            run(f"scene.json {key}={value!r:.20}", lambda: questions(RGBDFolderSource(root), "room_a"))
    path.write_text("{not json")
    run("scene.json not JSON", lambda: questions(RGBDFolderSource(root), "room_a"))


def corrupt_files(label: str, files: list, check) -> None:
    garbage = [b"", b"\x00" * 10, b"nan nan nan", b"1 2 3 4 5 6 7 8 9\n1 2 3", b"{}", b"[]", b'{"data": 5}', b"\xff\xfe",
               b"inf " * 20]
    for path in files:
        original = path.read_bytes()
        for data in garbage + [original[: len(original) // 2]]:
            path.write_bytes(data)
            run(f"{label} {path.name} <- {data[:12]!r}", check)
        path.write_bytes(original)


def fuzz_public_sets(tmp: Path) -> None:
    sun = tmp / "sun"
    write_sunrgbd_frame(sun, "000001", 10)
    corrupt_files("sunrgbd", [sun / "calib/000001.txt", sun / "label/000001.txt", sun / "depth/000001.mat",
                              sun / "image/000001.jpg"], lambda: questions(SUNRGBDSource(sun), "000001"))
    folder, _ = write_arkit_video(tmp / "ark")
    frames = folder / "41069021_frames"
    files = [folder / "41069021_3dod_annotation.json", frames / "lowres_wide.traj"]
    files += [sorted((frames / sub).glob("*"))[0] for sub in ("lowres_wide_intrinsics", "lowres_depth", "lowres_wide")]
    corrupt_files("arkitscenes", files, lambda: questions(ARKitScenesSource(tmp / "ark"), "41069021"))
    scene, _, _ = write_scannetpp_scene(tmp / "spp")
    files = [scene / "scans/mesh_aligned_0.05.ply", scene / "scans/segments.json", scene / "scans/segments_anno.json",
             scene / "iphone/pose_intrinsic_imu.json", sorted((scene / "iphone/depth").glob("*"))[0]]
    corrupt_files("scannetpp", files, lambda: questions(ScanNetPPSource(tmp / "spp", frame_skip=1), "0a5c013435"))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fuzz_rgbd(Path(tmp))
        fuzz_public_sets(Path(tmp))
    print(f"{COUNT[0]} bad inputs; crashes: {len(CRASHES)}")
    for label, count in collections.Counter(c[0].split("=")[0] for c in CRASHES).items():
        print(f"  {label}: {count}")
    for crash in CRASHES[:20]:
        print("  ", crash)
    return 1 if CRASHES else 0


if __name__ == "__main__":
    sys.exit(main())
