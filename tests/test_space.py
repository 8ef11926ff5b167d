"""The Gradio Space (spaces/sdvlm): input checks, every named endpoint through gradio_client,
bad inputs that leave the server serving, ten concurrent requests, the no-model message.

Everything runs offline on a tiny SD-VLM, a tiny Depth-Anything and a tiny synthetic MSMU built
into a temporary folder once per test session (`space_assets`, shared with the browser test).
"""

from __future__ import annotations

import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

MAX_IMAGE_PIXELS = 200_000  # small, so a test image can exceed it cheaply
MAX_FILE_SIZE = "200kb"  # likewise for the upload size
QUESTION = "How far is the chair from the camera?"


@dataclass
class SpaceAssets:
    model: Path
    estimator: Path
    dataset: Path
    cache: Path


_ASSETS: dict[str, SpaceAssets] = {}


def build_space_assets(root: Path) -> SpaceAssets:
    """Tiny synthetic MSMU, tiny SD-VLM (vocabulary from that data) and tiny Depth-Anything, saved
    under `root`; built once per process even when two test modules ask."""
    if "assets" in _ASSETS:
        return _ASSETS["assets"]
    from datasets import load_dataset
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    from dataset_builders.msmu import build_msmu
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    dataset = build_msmu(source="synthetic", output_dir=root / "msmu", num_scenes=4, seed=0, image_size=(96, 72),
                         frames_per_scene=1, qa_per_frame=8, test_fraction=0.5, progress=False, verbose=False)
    splits = load_dataset(str(dataset))
    texts = [text for split in splits.values() for column in ("question", "answer") for text in split[column]]
    processor = build_tiny_processor(texts=texts + [QUESTION])
    model = build_tiny_model(processor)
    model.save_pretrained(root / "model")
    processor.save_pretrained(root / "model")

    backbone = Dinov2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                            patch_size=14, image_size=56, out_features=["stage1", "stage2"], reshape_hidden_states=False)
    estimator_config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=16, neck_hidden_sizes=[8, 16],
                                           reassemble_factors=[2, 1], fusion_hidden_size=16, head_hidden_size=8)
    DepthAnythingForDepthEstimation(estimator_config).save_pretrained(root / "estimator")
    DPTImageProcessor(size={"height": 56, "width": 56}, keep_aspect_ratio=True, ensure_multiple_of=14).save_pretrained(
        root / "estimator")
    _ASSETS["assets"] = SpaceAssets(root / "model", root / "estimator", Path(dataset), root / "cache")
    return _ASSETS["assets"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_app(assets: SpaceAssets, **overrides):
    from sdvlm.space import load_space_module

    space = load_space_module()
    settings = dict(model=str(assets.model), depth_estimator=str(assets.estimator), examples_dir=str(assets.dataset),
                    cache_dir=str(assets.cache), num_examples=4, max_new_tokens=6, max_image_pixels=MAX_IMAGE_PIXELS,
                    max_file_size=MAX_FILE_SIZE)
    settings.update(overrides)
    return space.create_app(space.SpaceConfig(**settings))


def serve(app) -> str:
    """Launch on a free port of 127.0.0.1 without blocking; returns the URL."""
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def space_assets(tmp_path_factory) -> SpaceAssets:
    return build_space_assets(tmp_path_factory.mktemp("space"))


@pytest.fixture(scope="module")
def space(space_assets):
    app = make_app(space_assets)
    url = serve(app)
    yield app, url
    app.demo.close()


@pytest.fixture(scope="module")
def client(space):
    from gradio_client import Client

    return Client(space[1], verbose=False)


@pytest.fixture
def files(tmp_path):
    """A good image with its matching depth files, plus a set of bad uploads."""
    height, width = 60, 100
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(tmp_path / "room.png")
    depth_m = rng.uniform(0.5, 4.0, (height, width)).astype(np.float32)
    Image.fromarray((depth_m * 1000).astype(np.uint16)).save(tmp_path / "depth_mm.png")
    np.save(tmp_path / "depth_m.npy", depth_m)
    np.save(tmp_path / "small_depth.npy", depth_m[:30, :50])
    np.save(tmp_path / "negative.npy", -depth_m)
    np.save(tmp_path / "pickled.npy", np.array([{"not": "an array"}], dtype=object), allow_pickle=True)
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage that is not a header")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(tmp_path / "colour_depth.png")
    (tmp_path / "notes.txt").write_text("this is not an image")
    Image.new("RGB", (600, 400)).save(tmp_path / "huge.png")  # 240,000 pixels > MAX_IMAGE_PIXELS
    # Noise does not compress: about 360 kB > MAX_FILE_SIZE, yet under the pixel limit.
    Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(tmp_path / "heavy.png")
    return tmp_path


# ---- input checks, without a server ----------------------------------------------------------------


def test_depth_files_are_read_in_meters(files):
    from sdvlm.space import load_space_module

    load_space_module()  # puts spaces/sdvlm on sys.path
    from space_inputs import load_depth

    from_png = load_depth(files / "depth_mm.png", (100, 60))
    from_npy = load_depth(files / "depth_m.npy", (100, 60))
    assert from_png.shape == from_npy.shape == (60, 100)
    # Millimetre integers: the PNG equals the meters array up to the 1 mm quantisation.
    assert np.abs(from_png - from_npy).max() <= 1e-3


@pytest.mark.parametrize(
    "name, message",
    [
        ("small_depth.npy", "depth map is 50x30"),
        ("negative.npy", "negative values"),
        ("pickled.npy", "not a readable NumPy array"),
        ("broken.npy", "not a readable NumPy array"),
        ("broken.png", "not a readable PNG"),
        ("colour_depth.png", "16-bit"),
        ("notes.txt", "suffix '.txt'"),
    ],
)
def test_bad_depth_files_say_what_to_fix(files, name, message):
    from sdvlm.space import load_space_module

    load_space_module()
    from space_inputs import InputError, load_depth

    with pytest.raises(InputError, match=message):
        load_depth(files / name, (100, 60))


def test_image_and_question_checks(files):
    from sdvlm.space import load_space_module

    load_space_module()
    from space_inputs import InputError, check_question, load_image

    assert load_image(files / "room.png", MAX_IMAGE_PIXELS).size == (100, 60)
    with pytest.raises(InputError, match="over the limit of 200,000"):
        load_image(files / "huge.png", MAX_IMAGE_PIXELS)
    with pytest.raises(InputError, match="not an image"):
        load_image(files / "notes.txt")
    with pytest.raises(InputError, match="question is empty"):
        check_question("   ")
    assert check_question("  How tall is the table? ") == "How tall is the table?"


# ---- the served app, through gradio_client ---------------------------------------------------------


def test_named_endpoints(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/answer", "/ask", "/compare", "/score_examples"} <= set(endpoints)
    assert [p["label"] for p in endpoints["/answer"]["parameters"]][:1] == ["Image (any size and aspect ratio)"]


def test_answer_with_each_kind_of_depth(client, files, space):
    from gradio_client import handle_file

    app = space[0]
    calls = []
    estimate = app.model.estimate_depth
    app.model.estimate_depth = lambda image: calls.append(image.size) or estimate(image)
    try:
        for depth in (None, "depth_mm.png", "depth_m.npy"):
            answer = client.predict(handle_file(str(files / "room.png")), depth and handle_file(str(files / depth)),
                                    QUESTION, api_name="/answer")
            assert isinstance(answer, str) and answer.strip(), f"empty answer with depth={depth}"
    finally:
        del app.model.estimate_depth
    # The estimator ran once: only for the request without a depth file, on the original image size.
    assert calls == [(100, 60)]


def test_ask_returns_depth_grid_and_score(client, space):
    from gradio_client import handle_file

    example = space[0].examples[0]
    answer, depth_image, grid_image, score = client.predict(
        handle_file(example.image), handle_file(example.depth), example.question, example.answer, example.category,
        api_name="/ask")
    assert answer.strip()
    for path in (depth_image, grid_image):
        with Image.open(path) as picture:
            assert picture.width > 100 and picture.height > 100
    assert example.answer in score and ("delta" in score or "correct" in score or "wrong" in score)


def test_compare_gives_both_answers(client, files):
    from gradio_client import handle_file

    with_depth, without_depth = client.predict(handle_file(str(files / "room.png")),
                                               handle_file(str(files / "depth_m.npy")), QUESTION, api_name="/compare")
    assert with_depth.strip() and without_depth.strip()


def test_gallery_is_held_out_and_scored(client, space, space_assets):
    from datasets import load_dataset

    app = space[0]
    splits = load_dataset(str(space_assets.dataset))
    assert {e.scene_id for e in app.examples} <= set(splits["test"]["scene_id"])
    assert not {e.scene_id for e in app.examples} & set(splits["train"]["scene_id"])
    table = client.predict(api_name="/score_examples")
    assert table["headers"] == ["category", "question", "ground truth", "answer", "delta", "success", "reason"]
    assert [row[2] for row in table["data"]] == [e.answer for e in app.examples]
    assert all(isinstance(row[3], str) and isinstance(row[5], bool) for row in table["data"])


@pytest.mark.parametrize(
    "image, depth, question, message",
    [
        ("notes.txt", None, QUESTION, "not an image"),
        ("huge.png", None, QUESTION, "over the limit"),
        ("room.png", None, "   ", "question is empty"),
        ("room.png", "small_depth.npy", QUESTION, "depth map is 50x30"),
        ("room.png", "broken.npy", QUESTION, "not a readable NumPy array"),
        ("room.png", "broken.png", QUESTION, "not a readable PNG"),
        ("room.png", "negative.npy", QUESTION, "negative values"),
        ("room.png", "notes.txt", QUESTION, "Invalid file type"),
    ],
)
def test_bad_input_then_good_input(client, files, image, depth, question, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    for endpoint, extra in (("/answer", ()), ("/compare", ()), ("/ask", ("", ""))):
        with pytest.raises(AppError, match=message):
            client.predict(handle_file(str(files / image)), depth and handle_file(str(files / depth)), question,
                           *extra, api_name=endpoint)
    # The server keeps serving: the next good request is answered.
    assert client.predict(handle_file(str(files / "room.png")), None, QUESTION, api_name="/answer").strip()


def test_upload_size_limit(client, space, files):
    import httpx
    from gradio_client import handle_file

    # The client reads the limit from the page config; the server enforces it on its own too.
    with pytest.raises(ValueError, match="exceeds the maximum file size of 204800 bytes"):
        client.predict(handle_file(str(files / "heavy.png")), None, QUESTION, api_name="/answer")
    with open(files / "heavy.png", "rb") as heavy:
        response = httpx.post(space[1] + "gradio_api/upload", files={"files": ("heavy.png", heavy, "image/png")})
    assert response.status_code == 413 and "maximum allowed size" in response.text
    assert client.predict(handle_file(str(files / "room.png")), None, QUESTION, api_name="/answer").strip()


def test_ten_concurrent_answers(client, files):
    from gradio_client import handle_file

    questions = [QUESTION, "How tall is the table?"] * 5
    jobs = [client.submit(handle_file(str(files / "room.png")), handle_file(str(files / "depth_m.npy")), question,
                          api_name="/answer") for question in questions]
    answers = [job.result(timeout=120) for job in jobs]
    assert len(answers) == 10 and all(isinstance(a, str) and a.strip() for a in answers)


# ---- no model yet ------------------------------------------------------------------------------------


def test_missing_model_message_in_page_api_and_cli(tmp_path, files, capsys, monkeypatch):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    import sdvlm.space

    missing = str(tmp_path / "no_model_here")
    app = make_app(SpaceAssets(Path(missing), Path(missing), Path(missing), tmp_path), depth_estimator=None,
                   examples_dir=None, num_examples=0)
    url = serve(app)
    try:
        with urllib.request.urlopen(url + "config") as response:
            assert "make quickstart" in response.read().decode()
        with pytest.raises(AppError, match="make quickstart"):
            Client(url, verbose=False).predict(handle_file(str(files / "room.png")), None, QUESTION, api_name="/answer")
    finally:
        app.demo.close()
    space_module = sdvlm.space.load_space_module()
    monkeypatch.setattr(space_module.SpaceApp, "launch", lambda self, **kwargs: None)
    sdvlm.space.main(["--model", missing, "--num-examples", "0"])
    assert "make quickstart" in capsys.readouterr().err


def test_cli_defaults(monkeypatch):
    import sdvlm.space

    monkeypatch.setenv("SDVLM_MODEL", "some/model")
    args = sdvlm.space.build_parser().parse_args([])
    assert (args.model, args.host, args.port) == ("some/model", "127.0.0.1", 7860)
    monkeypatch.delenv("SDVLM_MODEL")
    assert sdvlm.space.build_parser().parse_args([]).model == "outputs/quickstart/best"


def test_unavailable_depth_estimator_is_reported_once(space_assets, tmp_path):
    from sdvlm.space import load_space_module

    load_space_module()
    from space_model import DepthUnavailable, SpaceModel

    model = SpaceModel.load(str(space_assets.model))  # no override: the checkpoint's configured estimator
    model.processor.depth_estimator = str(tmp_path / "no_estimator_here")  # stands in for an unreachable Hub id
    image = Image.new("RGB", (40, 30))
    with pytest.raises(DepthUnavailable, match="Upload a depth map, or start the Space with --depth-estimator"):
        model.estimate_depth(image)
    model.processor.depth_estimator = "never/loaded"  # a second attempt would name this id: it is not made
    with pytest.raises(DepthUnavailable, match="no_estimator_here"):
        model.estimate_depth(image)


def test_quickstart_layout_feeds_the_gallery(space_assets, tmp_path):
    """A checkpoint at <dir>/best with the quickstart's data at <dir>/msmu: the gallery comes from
    that data's test split (the scenes the checkpoint was evaluated on) with no --examples-dir."""
    from datasets import load_dataset

    (tmp_path / "quickstart").mkdir()
    (tmp_path / "quickstart" / "best").symlink_to(space_assets.model, target_is_directory=True)
    (tmp_path / "quickstart" / "msmu").symlink_to(space_assets.dataset, target_is_directory=True)
    app = make_app(space_assets, model=str(tmp_path / "quickstart" / "best"), examples_dir=None,
                   cache_dir=str(tmp_path / "cache"))
    test_scenes = set(load_dataset(str(space_assets.dataset), split="test")["scene_id"])
    assert app.examples and {e.scene_id for e in app.examples} <= test_scenes
    # The question examples are the gallery's questions: words the checkpoint's vocabulary knows.
    assert app.example_questions[0] == app.examples[0].question


@pytest.mark.parametrize("field, value, minimum", [("max_new_tokens", 0, 1), ("max_image_pixels", -1, 1),
                                                   ("concurrency_limit", 1.5, 1), ("num_examples", -1, 0)])
def test_space_config_is_validated(field, value, minimum):
    from sdvlm.space import load_space_module

    with pytest.raises(ValueError, match=f"SpaceConfig.{field} must be an integer >= {minimum}"):
        load_space_module().SpaceConfig(**{field: value})
