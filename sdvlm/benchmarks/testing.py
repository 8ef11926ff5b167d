"""Tiny local copies of each benchmark in its release's exact layout, for tests and the README run.

Field names, types and file layout follow the releases (see each benchmark module); the values
are made up: small synthetic images, a few questions per category.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from datasets import Dataset, Features, Image, Sequence, Value
from PIL import Image as PILImage


def _image(seed: int, size=(48, 32)) -> PILImage.Image:
    rng = np.random.default_rng(seed)
    return PILImage.fromarray(rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8))


def write_qspatial(folder: str | Path, scannet_root: str | Path | None = None) -> Path:
    """`data/QSpatial_plus-*.parquet` (images embedded) and `data/QSpatial_scannet-*.parquet`
    (no images: `image_path` into `scannet_root`, whose frames are written when it is given)."""
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    features = Features({"question": Value("string"), "answer_value": Value("float64"),
                         "answer_unit": Value("string"), "question_type": Value("string"),
                         "image_path": Value("string"), "image": Image()})
    plus = {"question": ["What is the height of the lamp in the image?",
                         "What is the minimum distance between the chair and the table in the image?",
                         "What is the width of the sofa in the image?"],
            "answer_value": [50.0, 1.2, 6.0], "answer_unit": ["cm", "meters", "feet"],
            "question_type": ["height", "distance", "width"],
            "image_path": ["QSpatial_plus/images/0.jpg", "QSpatial_plus/images/1.jpg", "QSpatial_plus/images/2.jpg"],
            "image": [_image(i) for i in range(3)]}
    Dataset.from_dict(plus, features=features).to_parquet(str(folder / "data" / "QSpatial_plus-00000-of-00001.parquet"))
    scenes = [("scene0015_00", "0"), ("scene0019_00", "400")]
    scannet = {"question": ["What is the height of the chair in the image?", "How wide is the desk in the image?"],
               "answer_value": [0.9, 120.0], "answer_unit": ["meters", "cm"], "question_type": ["height", "width"],
               "image_path": [f"QSpatial_scannet/images/{scene}/color/{frame}.jpg" for scene, frame in scenes],
               "image": [None, None]}
    Dataset.from_dict(scannet, features=features).to_parquet(
        str(folder / "data" / "QSpatial_scannet-00000-of-00001.parquet"))
    if scannet_root is not None:
        for index, (scene, frame) in enumerate(scenes):
            path = Path(scannet_root) / scene / "color" / f"{frame}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            _image(10 + index).save(path)
    return folder


def spatialrgpt_items() -> list[dict]:
    """Items of `SpatialRGPT-Bench_v1.json` (one per scored kind: distance, width, direction, a
    predicate and a choice question; one region given as a COCO RLE mask, the others as boxes)."""
    from pycocotools import mask as coco_mask

    mask = np.zeros((120, 160), dtype=np.uint8, order="F")
    mask[40:100, 80:150] = 1
    rle = coco_mask.encode(mask)
    rle = {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode()}
    info = {"file_path": "images/scene.jpg", "height": 120, "width": 160}

    def item(index, text_q, human, answer, qa_type, category, regions):
        return {"id": f"srgpt-{index}", "image_info": info, "text_q": text_q,
                "conversations": [{"from": "human", "value": "<image>\n" + human}, {"from": "gpt", "value": answer}],
                **regions, "qa_info": {"type": qa_type, "category": category}}

    boxes = {"bbox": [[10, 10, 70, 70], [80, 40, 150, 110]]}
    return [
        item(0, "How far away is Region [0] from Region [1]?", "How far away is <mask> from <mask>?",
             "Region [0] and Region [1] are 1.2 meters apart.", "quantitative", "distance_data", boxes),
        item(1, "Measure the width of Region [0].", "Measure the width of <mask>.",
             "The width of Region [0] is 10.0 inches.", "quantitative", "width_data", {"rle": [rle]}),
        item(2, "If you are at Region [0], where will you find Region [1]?",
             "If you are at <mask>, where will you find <mask>?",
             "Region [0] will find Region [1] around the 2 o'clock direction.", "quantitative", "direction", boxes),
        item(3, "Is Region [0] to the left of Region [1]?", "Is <mask> to the left of <mask>?",
             "Yes, Region [0] is to the left of Region [1].", "qualitative", "left_predicate", boxes),
        item(4, "Which is taller, Region [0] or Region [1]?", "Which is taller, <mask> or <mask>?",
             "Region [1] is taller.", "qualitative", "tall_choice", boxes),
    ]


def write_spatialrgpt(folder: str | Path) -> Path:
    """`SpatialRGPT-Bench_v1.json` and its image under `folder`."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    _image(20, size=(160, 120)).save(folder / "images" / "scene.jpg")
    (folder / "SpatialRGPT-Bench_v1.json").write_text(json.dumps(spatialrgpt_items(), indent=1))
    return folder


def write_video(path: str | Path, colors: list[tuple[int, int, int]], size=(32, 32), fps: int = 4) -> Path:
    """An mp4 (H.264 via PyAV) whose frame i is filled with `colors[i]`."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "0", "preset": "ultrafast"}
        for color in colors:
            frame = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            frame[:] = color
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def frame_colors(count: int) -> list[tuple[int, int, int]]:
    """Distinct grey levels, frame i at 10 + 20 i (distinguishable after lossy YUV conversion)."""
    return [(10 + 20 * i,) * 3 for i in range(count)]


def write_vsibench(folder: str | Path, num_video_frames: int = 10) -> Path:
    """`test-00000-of-00001.parquet` (VSI-Bench columns) and `scannet/<scene>.mp4`,
    `arkitscenes/<scene>.mp4` videos under `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for dataset, scene in (("scannet", "scene0011_00"), ("arkitscenes", "41069025")):
        write_video(folder / dataset / f"{scene}.mp4", frame_colors(num_video_frames))
    features = Features({"id": Value("int64"), "dataset": Value("string"), "scene_name": Value("string"),
                         "question_type": Value("string"), "question": Value("string"),
                         "ground_truth": Value("string"), "options": Sequence(Value("string"))})
    rows = [
        (0, "scannet", "scene0011_00", "object_counting", "How many chair(s) are in this room?", "4", []),
        (1, "scannet", "scene0011_00", "object_abs_distance",
         "Measuring from the closest point of each object, what is the distance between the table and the sofa (in meters)?",
         "1.8", []),
        (2, "scannet", "scene0011_00", "object_size_estimation",
         "What is the length of the longest dimension (length, width, or height) of the bed, measured in centimeters?",
         "200", []),
        (3, "arkitscenes", "41069025", "room_size_estimation",
         "What is the size of this room (in square meters)? If multiple rooms are shown, estimate the size of the "
         "combined space.", "18.5", []),
        (4, "arkitscenes", "41069025", "object_rel_distance",
         "Measuring from the closest point of each object, which of these objects (sofa, lamp, tv) is the closest to "
         "the table?", "B", ["A. sofa", "B. lamp", "C. tv"]),
        (5, "arkitscenes", "41069025", "object_rel_direction_easy",
         "If I am standing by the sofa and facing the tv, is the lamp to my left or the right?", "A",
         ["A. left", "B. right"]),
        (6, "arkitscenes", "41069025", "object_rel_direction_hard",
         "If I am standing by the sofa and facing the tv, is the lamp to my front-left, front-right, back-left, or "
         "back-right?", "C", ["A. front-left", "B. front-right", "C. back-left", "D. back-right"]),
        (7, "scannet", "scene0011_00", "route_planning",
         "You are a robot beginning at the door facing the bed. You want to navigate to the desk. 1. Go forward until "
         "the bed 2. [please fill in] 3. Go forward until the desk. You have reached the final destination.", "A",
         ["A. Turn Left", "B. Turn Right", "C. Turn Back"]),
        (8, "scannet", "scene0011_00", "obj_appearance_order",
         "What will be the first-time appearance order of the following categories in the video: bed, desk, chair?",
         "D", ["A. bed, chair, desk", "B. desk, bed, chair", "C. chair, desk, bed", "D. bed, desk, chair"]),
    ]
    columns = dict(zip(features, map(list, zip(*rows))))
    Dataset.from_dict(columns, features=features).to_parquet(str(folder / "test-00000-of-00001.parquet"))
    return folder




def write_tiny_checkpoint(folder: str | Path, texts: list[str], image_size: int = 32, seed: int = 0,
                          **overrides) -> Path:
    """An untrained tiny SD-VLM (the quickstart's sizes: 32 px images, 8 px patches) whose processor
    estimates depth with a tiny random Depth-Anything saved beside it (`<folder>/depth-anything`),
    so `--depth_source estimate` runs offline."""
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    from ..testing import tiny_depth_estimator

    folder = Path(folder)
    depth_model, depth_processor = tiny_depth_estimator(seed=seed)
    depth_model.save_pretrained(folder / "depth-anything")
    depth_processor.save_pretrained(folder / "depth-anything")
    processor = build_tiny_processor(texts=texts, image_size=image_size, patch_size=8,
                                     depth_estimator=str(folder / "depth-anything"))
    model = build_tiny_model(processor, seed=seed, **overrides)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder



def main(argv: list[str] | None = None) -> None:
    """`python -m sdvlm.benchmarks.testing OUT`: every tiny benchmark copy, a tiny MSMU folder and an
    untrained tiny checkpoint under OUT (the README's measured run)."""
    import argparse

    from ..testing import all_texts, write_tiny_msmu

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("output_dir")
    out = Path(parser.parse_args(argv).output_dir)
    write_qspatial(out / "qspatial", out / "scannet")
    write_spatialrgpt(out / "spatialrgpt")
    write_vsibench(out / "vsibench")
    msmu = write_tiny_msmu(out / "msmu", num_train_frames=2, num_test_frames=5)
    write_tiny_checkpoint(out / "tiny-sdvlm", all_texts(msmu))
    print(f"wrote qspatial/, scannet/, spatialrgpt/, vsibench/, msmu/ and tiny-sdvlm/ under {out}")


__all__ = ["write_qspatial", "spatialrgpt_items", "write_spatialrgpt", "write_video", "frame_colors", "write_tiny_checkpoint",
           "write_vsibench", "main"]

if __name__ == "__main__":
    main()
