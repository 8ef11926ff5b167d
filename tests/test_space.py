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
    model: Path  # a DPE checkpoint; its no-depth twin lies beside it, at model.parent / "no_depth_best"
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
    # Its no-depth twin where `make quickstart` leaves one (<dir>/no_depth_best): Compare's default "without depth".
    build_tiny_model(processor, seed=1, use_depth=False).save_pretrained(root / "no_depth_best")
    processor.save_pretrained(root / "no_depth_best")

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


# ---- review fixes: missing packages, LoRA adapters, use_depth=False, EXIF-rotated photos ---------------

NO_PROJECT_SCRIPT = """
import json, sys, importlib.util
for name in ("dataset_builders", "metrics", "modeling_sdvlm", "sdvlm"):  # as on a Hub Space without the project
    sys.modules[name] = None
spec = importlib.util.spec_from_file_location("space_app", sys.argv[1])
space = sys.modules["space_app"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(space)
import gradio as gr

result = {}
for key, model in (("missing", sys.argv[2]), ("present", sys.argv[3])):
    app = space.create_app(space.SpaceConfig(model=model, cache_dir=sys.argv[4], num_examples=2))
    try:
        app.answer(sys.argv[5], None, "How tall is the table?")
        message = None
    except gr.Error as error:
        message = error.message
    result[key] = {"page": json.dumps(app.demo.get_config_file(), default=str), "answer": message,
                   "examples": len(app.examples), "note": app.examples_note}
result["score"] = list(space.score_item("2 m", "2 m", "height"))
result["markdown"] = space.score_markdown("2 m", "2 m", "height")
print("RESULT" + json.dumps(result))
"""


def test_page_comes_up_without_the_project_packages(space_assets, files, tmp_path):
    """On the Hub without the project installed: the page builds, the gallery is empty with a note,
    /answer says what to install (and which model to set), scoring says it is unavailable."""
    import json
    import subprocess
    import sys

    from sdvlm.space import SPACE_DIR

    run = subprocess.run(
        [sys.executable, "-c", NO_PROJECT_SCRIPT, str(SPACE_DIR / "app.py"), str(tmp_path / "no_model"),
         str(space_assets.model), str(tmp_path / "cache"), str(files / "room.png")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.split("RESULT", 1)[1])
    # No dataset folder: the synthetic gallery would need dataset_builders. (The present model's folder has
    # the quickstart's data beside it, which needs only `datasets`: that gallery still comes up.)
    assert result["missing"]["examples"] == 0 and "dataset_builders" in result["missing"]["note"]
    assert "The examples gallery is empty" in result["missing"]["page"]
    assert result["present"]["examples"] == 2 and result["present"]["note"] is None
    for key in ("missing", "present"):
        assert "sdvlm project is not installed" in result[key]["answer"]
        assert "requirements.txt" in result[key]["answer"] and "pip install -e ." in result[key]["page"]
    assert "make quickstart" in result["missing"]["answer"] and "SDVLM_MODEL" in result["missing"]["answer"]
    assert result["score"][0] is None and result["score"][1] is False and "metrics" in result["score"][2]
    assert "not scored" in result["markdown"] and "wrong" not in result["markdown"]


def test_lora_adapter_folder_loads(space_assets, tmp_path):
    """`sdvlm-train`'s default output (adapter + DPE config + processor) loads and answers; an adapter
    whose base is gone says so rather than "no checkpoint"."""
    import json

    from peft import LoraConfig, get_peft_model

    from modeling_sdvlm import SDVLMForConditionalGeneration, SDVLMProcessor
    from sdvlm.space import load_space_module

    load_space_module()
    from space_model import ModelUnavailable, SpaceModel

    base = SDVLMForConditionalGeneration.from_pretrained(space_assets.model)
    peft_model = get_peft_model(base, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"],
                                                 init_lora_weights=False))
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)  # as save_trained does
    peft_model.get_base_model().config.save_pretrained(adapter)
    SDVLMProcessor.from_pretrained(space_assets.model).save_pretrained(adapter)
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(space_assets.model)

    model = SpaceModel.load(str(adapter), str(space_assets.estimator), max_new_tokens=4)
    assert not any("lora" in name for name, _ in model.model.named_parameters())  # merged
    depth = np.full((30, 40), 2.0, dtype=np.float32)
    assert isinstance(model.answer(Image.new("RGB", (40, 30)), QUESTION, depth), str)

    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(tmp_path / "base_is_gone")
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailable, match="holds a LoRA adapter .*base_is_gone.* could not be loaded"):
        SpaceModel.load(str(adapter))


def test_use_depth_false_checkpoint_estimates_no_depth(space_assets, files, tmp_path):
    from modeling_sdvlm import SDVLMProcessor
    from modeling_sdvlm.tiny import build_tiny_model

    processor = SDVLMProcessor.from_pretrained(space_assets.model)
    build_tiny_model(processor, use_depth=False).save_pretrained(tmp_path / "no_depth")
    processor.save_pretrained(tmp_path / "no_depth")
    app = make_app(space_assets, model=str(tmp_path / "no_depth"), examples_dir=None, num_examples=0)
    try:
        assert not app.model.uses_depth

        def never(image):
            raise AssertionError("depth estimated for a use_depth=False checkpoint")

        app.model.estimate_depth = never
        answer, depth_image, grid_image, _ = app.ask(str(files / "room.png"), None, QUESTION, "", "")
        assert isinstance(answer, str) and depth_image is None and grid_image is None
        assert isinstance(app.answer(str(files / "room.png"), None, QUESTION), str)
        with_depth, without_depth = app.compare(str(files / "room.png"), None, QUESTION)
        assert with_depth == without_depth
    finally:
        app.demo.close()


def test_depth_follows_the_exif_rotation_of_the_photo(tmp_path):
    """A phone photo stored 4x3 with EXIF orientation 6 is shown 3x4 upright; its depth map recorded
    as stored (4x3) is rotated the same way, one already upright (3x4) is used as it is."""
    from sdvlm.space import load_space_module

    load_space_module()
    from space_inputs import ORIENTATION_KEY, InputError, load_depth, load_image

    stored = np.arange(1, 13, dtype=np.uint8).reshape(3, 4)
    photo = Image.fromarray(np.stack([stored * 20] * 3, axis=-1))
    exif = photo.getexif()
    exif[0x0112] = 6
    photo.save(tmp_path / "phone.jpg", exif=exif, quality=100)
    image = load_image(tmp_path / "phone.jpg")
    assert image.size == (3, 4) and image.info[ORIENTATION_KEY] == 6
    orientation = image.info[ORIENTATION_KEY]

    np.save(tmp_path / "as_stored.npy", stored.astype(np.float32))
    upright = np.asarray(Image.fromarray(stored).transpose(Image.Transpose.ROTATE_270), dtype=np.float32)
    assert np.array_equal(load_depth(tmp_path / "as_stored.npy", image.size, orientation), upright)
    Image.fromarray(stored.astype(np.uint16) * 1000).save(tmp_path / "as_stored_mm.png")
    assert np.array_equal(load_depth(tmp_path / "as_stored_mm.png", image.size, orientation), upright)
    np.save(tmp_path / "upright.npy", upright)
    assert np.array_equal(load_depth(tmp_path / "upright.npy", image.size, orientation), upright)
    np.save(tmp_path / "wrong.npy", np.ones((5, 5), dtype=np.float32))
    with pytest.raises(InputError, match=r"image is 3x4 upright \(4x3 as stored, before its EXIF rotation\)"):
        load_depth(tmp_path / "wrong.npy", image.size, orientation)
    with pytest.raises(InputError, match="depth map is 4x3"):  # no EXIF rotation: sizes must match as they are
        load_depth(tmp_path / "as_stored.npy", image.size)


def test_scoring_passes_the_question_to_the_metric():
    from sdvlm.space import load_space_module

    space = load_space_module()
    answer = "There are 3 chairs and 2 tables."
    assert space.score_item(answer, "3", "count", "How many chairs are in the room?")[1] is True
    assert space.score_item(answer, "2", "count", "How many tables are there?")[1] is True
    assert space.score_item(answer, "2", "count")[1] is False  # without it: the first number, 3
