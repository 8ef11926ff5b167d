"""SD-VLM Space: ask a spatial question about a photo, with and without the depth encoding.

On the Hub this file runs as it is (`python app.py`; the model from the SDVLM_MODEL variable).
Locally, `sdvlm-space --model PATH` (sdvlm/space.py) loads this file by path and calls
`create_app(SpaceConfig(...)).launch(...)`; tests do the same with `prevent_thread_lock=True`.

Named API endpoints (gradio_client): `/answer` (image, depth file or None, question) -> answer text;
`/ask` (image, depth file, question, ground truth, category) -> answer, depth image, grid image,
score; `/compare` (image, depth file, question) -> answer with depth, answer without depth;
`/compare_evidence` (the inputs of /ask) -> what /ask returns, then both answers, the view of the
model without depth and a note naming the two checkpoints; `/check_question` (question) -> a warning
when the question lies outside what the checkpoint was trained on; `/depth_notice` (image, depth
file) -> a note when a photo has no depth and this machine no depth model; `/score_examples` () ->
table of the gallery's questions, ground truths, answers and deltas.

"Without depth" is the trained no-depth twin of the checkpoint where one exists (`make quickstart`
leaves it beside the DPE checkpoint as `no_depth_best`), else the same checkpoint with its depth
input left out, and the page says which.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image, UnidentifiedImageError

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # the helper modules sit beside this file (also on the Hub)
    sys.path.insert(0, str(APP_DIR))

from space_checkpoint import CheckpointInfo, info_markdown, question_warning, read_checkpoint_info  # noqa: E402
from space_examples import DEFAULT_CACHE_DIR, Example, load_examples  # noqa: E402
from space_inputs import (  # noqa: E402
    MAX_IMAGE_PIXELS,
    ORIENTATION_KEY,
    InputError,
    check_question,
    load_depth,
    load_image,
)
from space_model import (  # noqa: E402
    DEFAULT_MAX_NEW_TOKENS,
    DepthUnavailable,
    ModelUnavailable,
    SpaceModel,
    missing_model_message,
)
from space_viz import depth_figure, grid_figure, view_figure  # noqa: E402

DEFAULT_MODEL = "outputs/quickstart/best"  # where `make quickstart` leaves its DPE checkpoint
BASELINE_BESIDE = "no_depth_best"  # ... and its trained no-depth twin, in the same folder
MAX_FILE_SIZE = "25mb"  # per upload; images above MAX_IMAGE_PIXELS are refused after upload anyway
CONCURRENCY_LIMIT = 2  # model calls at once; more only slows each down on a small CPU machine
QUEUE_SIZE = 64
NOT_SCORED = "not scored:"  # how score_item's reason starts when the metric itself is unavailable
EXAMPLE_QUESTIONS = [
    "How far is the center of the chair from the camera?",  # the MSMU builder's phrasings (templates.py)
    "How tall is the table?",
    "What is the distance between the centers of the bed and the chair?",
    "How many chairs are there?",
    "Is the lamp to the left of the sofa from the viewer's perspective?",
]


@dataclass
class SpaceConfig:
    """Everything that configures the Space; checked at construction."""

    model: str | None = DEFAULT_MODEL
    # The "without depth" model: None = the trained no-depth twin beside `model` (<dir>/no_depth_best) if
    # there is one; "" = none (the main checkpoint with its depth left out); else a folder or Hub id.
    baseline_model: str | None = None
    depth_estimator: str | None = None  # override of the checkpoint's configured estimator (path or id)
    examples_dir: str | None = None  # MSMU folder; None: the quickstart's data beside the model, else synthetic
    cache_dir: str = str(DEFAULT_CACHE_DIR)
    num_examples: int = 8
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    max_image_pixels: int = MAX_IMAGE_PIXELS
    max_file_size: str | int = MAX_FILE_SIZE
    concurrency_limit: int = CONCURRENCY_LIMIT
    queue_size: int = QUEUE_SIZE

    def __post_init__(self):
        for name in ("num_examples", "max_new_tokens", "max_image_pixels", "concurrency_limit", "queue_size"):
            value, minimum = getattr(self, name), 0 if name == "num_examples" else 1
            if not isinstance(value, int) or value < minimum:
                raise ValueError(f"SpaceConfig.{name} must be an integer >= {minimum}, got {value!r}")

    @classmethod
    def from_env(cls, **overrides) -> "SpaceConfig":
        """The Hub's way to configure a Space: variables SDVLM_MODEL, SDVLM_BASELINE_MODEL,
        SDVLM_DEPTH_ESTIMATOR, SDVLM_EXAMPLES_DIR."""
        values = {
            "model": os.environ.get("SDVLM_MODEL", DEFAULT_MODEL),
            "baseline_model": os.environ.get("SDVLM_BASELINE_MODEL"),
            "depth_estimator": os.environ.get("SDVLM_DEPTH_ESTIMATOR") or None,
            "examples_dir": os.environ.get("SDVLM_EXAMPLES_DIR") or None,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


class CheckedImage(gr.Image):
    """gr.Image whose upload errors say what to fix: Gradio opens the file before our code runs,
    and its own failure on a non-image would reach the visitor as a bare "Error"."""

    is_template = True  # rendered by Gradio's own Image front end

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Image.DecompressionBombError as error:
            raise gr.Error(f"The image has far too many pixels ({error}); downscale it and upload it again.") from error
        except (UnidentifiedImageError, OSError) as error:
            name = getattr(payload, "orig_name", None) or "the upload"
            raise gr.Error(f"'{name}' is not an image that can be read; upload a PNG, JPEG or WebP photo.") from error


def _visitor_errors(function):
    """Turn input problems into messages on the page (gr.Error); the server keeps serving."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (InputError, ModelUnavailable, DepthUnavailable) as error:
            raise gr.Error(str(error)) from error
        except ValueError as error:  # the processor's checks name the problem (e.g. unusable depth)
            raise gr.Error(f"The model could not use this input: {error}") from error

    return wrapper


class SpaceApp:
    """The model, the gallery and the page that puts them together."""

    def __init__(self, config: SpaceConfig):
        self.config = config
        try:
            self.model: SpaceModel | None = SpaceModel.load(config.model, config.depth_estimator, config.max_new_tokens)
            self.model_error = None
        except ModelUnavailable as error:
            self.model, self.model_error = None, str(error)
        self.info: CheckpointInfo | None = None if self.model is None else read_checkpoint_info(
            config.model, self.model.model.config)
        self.baseline, self.baseline_info, self.baseline_note = self._load_baseline()
        examples_dir = config.examples_dir or quickstart_dataset_beside(config.model)
        self.examples: list[Example] = []
        self.examples_note: str | None = None
        if config.num_examples:
            try:
                self.examples = load_examples(examples_dir, config.cache_dir, config.num_examples)
            except ImportError as error:  # e.g. on the Hub without the project: the page still comes up
                self.examples_note = (
                    f"The examples gallery is empty: building it needs the sdvlm project's packages ({error}). "
                    "Install the project (see requirements.txt), or set SDVLM_EXAMPLES_DIR to an MSMU dataset folder."
                )
        # Questions the checkpoint was trained to read: a tiny word-level vocabulary may not know others.
        self.example_questions = list(dict.fromkeys(e.question for e in self.examples))[:5] or EXAMPLE_QUESTIONS
        self.demo = self._build()

    # ---- request handlers (each one a named endpoint) -------------------------------------

    @_visitor_errors
    def answer(self, image_path, depth_path, question):
        """Answer a question about an image; depth from the uploaded map or estimated."""
        image, depth, question = self._read(image_path, depth_path, question)
        return self._ready_model().answer(image, question, depth)

    @_visitor_errors
    def ask(self, image_path, depth_path, question, ground_truth, category):
        """Answer, the depth map, the depth-encoding grid and the score against a ground truth."""
        image, depth, question = self._read(image_path, depth_path, question)
        model = self._ready_model()
        self._warn_question(question)
        prediction = model.predict(image, question, depth)
        # A use_depth=False checkpoint given no depth map: nothing was estimated, nothing to draw.
        return (
            prediction.answer,
            None if prediction.depth is None else depth_figure(prediction.depth, prediction.depth_label),
            None if prediction.grid is None else grid_figure(prediction.model_view, prediction.grid),
            score_markdown(prediction.answer, ground_truth, category, question),
        )

    @_visitor_errors
    def compare(self, image_path, depth_path, question):
        """The same question answered with depth and without it (see `compare_evidence`)."""
        image, depth, question = self._read(image_path, depth_path, question)
        with_depth, without_depth = self._compare(image, depth, question)
        return with_depth.answer, without_depth.answer

    @_visitor_errors
    def compare_evidence(self, image_path, depth_path, question, ground_truth, category):
        """Ask's evidence for the model with depth (answer, depth map, grid, score), then both answers,
        the image the model without depth saw, and which two checkpoints were compared."""
        image, depth, question = self._read(image_path, depth_path, question)
        self._warn_question(question)
        with_depth, without_depth = self._compare(image, depth, question)
        return (
            with_depth.answer,
            None if with_depth.depth is None else depth_figure(with_depth.depth, with_depth.depth_label),
            None if with_depth.grid is None else grid_figure(with_depth.model_view, with_depth.grid),
            score_markdown(with_depth.answer, ground_truth, category, question),
            with_depth.answer,
            without_depth.answer,
            view_figure(without_depth.model_view, "What the model without depth sees: the image alone"),
            self.compare_note(),
        )

    def _compare(self, image, depth, question):
        model = self._ready_model()
        if not model.uses_depth:
            gr.Warning("This checkpoint has use_depth=False: it ignores depth, so both answers come from a model "
                       "without depth.")
        with_depth = model.predict(image, question, depth)  # estimates depth once when none was uploaded
        without = self.baseline or model
        return with_depth, without.predict(image, question, use_depth=False)

    def compare_note(self) -> str:
        """Which two checkpoints Compare puts side by side."""
        if self.model is None:
            return ""
        main = f"**With depth**: {self.info.label}"
        if self.baseline is not None:
            return (f"{main}. **Without depth**: {self.baseline_info.label}, a model trained without depth "
                    "(its answers are what the same training gives without the depth encoding).")
        return (f"{main}. **Without depth**: the same checkpoint with its depth input left out. It never saw that "
                f"in training, so this is not a fair no-depth model. {self.baseline_note or ''}").strip()

    def check_question(self, question):
        """The warning for a question outside the checkpoint's training, or "" (shown as you type)."""
        if self.info is None:
            return ""
        warning = question_warning(self.info, question)
        return f"> {warning}" if warning else ""

    def depth_notice(self, image_path, depth_path):
        """Before anything is pressed: say so when a photo has no depth file and depth cannot be
        estimated on this machine, and point to the gallery."""
        if not image_path or depth_path or self.model is None or not self.model.uses_depth:
            return ""
        reason = self.model.depth_unavailable_reason()
        if reason:
            return (f"> **This photo has no depth file, and this machine has no depth model** ({reason}). Asking "
                    "needs depth: upload the photo's depth map (16-bit PNG in millimetres or .npy in meters, the "
                    "same size as the photo), or pick one of the [gallery examples](#gallery) below: they come "
                    "with their depth.")
        from modeling_sdvlm.depth_inputs import check_depth_kind  # importable: a model is loaded

        try:  # an estimate this checkpoint cannot use (relative depth for a metric model) is refused when asked
            check_depth_kind(self.model.depth_convention, self.model.estimated_depth_kind, self.model.processor.depth_estimator)
        except ValueError as error:
            return (f"> **This photo has no depth file, and the depth this machine can estimate does not suit this "
                    f"checkpoint**: {error}. Upload the photo's depth map in meters, or pick one of the "
                    "[gallery examples](#gallery) below: they come with their depth.")
        return ""

    def _warn_question(self, question: str) -> None:
        note = self.check_question(question)
        if note:
            gr.Warning(note.lstrip("> ").replace("**", ""))

    def _load_baseline(self) -> tuple[SpaceModel | None, CheckpointInfo | None, str | None]:
        """The no-depth model for Compare, its record, and a note when it could not be had."""
        path = self.config.baseline_model
        if path is None:
            path = baseline_beside(self.config.model)
        if not path or self.model is None:
            return None, None, None
        try:
            baseline = SpaceModel.load(path, None, self.config.max_new_tokens)
        except (ModelUnavailable, DepthUnavailable) as error:
            return None, None, f"The no-depth checkpoint '{path}' could not be loaded: {error}"
        if baseline.uses_depth:
            return None, None, f"The checkpoint '{path}' given as the no-depth model has use_depth=True; it is not used."
        return baseline, read_checkpoint_info(path, baseline.model.config), None

    @_visitor_errors
    def score_examples(self, progress=gr.Progress()):
        """Run the model on every gallery example and score it against the ground truth."""
        model = self._ready_model()
        rows = []
        for example in progress.tqdm(self.examples, desc="examples"):
            image = load_image(example.image, self.config.max_image_pixels)
            depth = load_depth(example.depth, image.size) if example.depth else None
            answer = model.answer(image, example.question, depth)
            delta, success, reason = score_item(answer, example.answer, example.category, example.question)
            rows.append([example.category, example.question, example.answer, answer,
                         None if delta is None else round(delta, 3), success, reason])
        return rows

    def _ready_model(self) -> SpaceModel:
        if self.model is None:
            raise ModelUnavailable(self.model_error or missing_model_message(self.config.model))
        return self.model

    def _read(self, image_path, depth_path, question):
        if not image_path:
            raise InputError("No image: upload a photo (any size and aspect ratio) or pick an example.")
        question = check_question(question)
        image = load_image(image_path, self.config.max_image_pixels)
        depth = load_depth(depth_path, image.size, image.info.get(ORIENTATION_KEY, 1)) if depth_path else None
        return image, depth, question

    # ---- the page -----------------------------------------------------------------------------

    def _build(self) -> gr.Blocks:
        with gr.Blocks(title="SD-VLM: measure a scene") as demo:
            gr.Markdown(INTRO)
            if self.model is None:
                gr.Markdown(f"> **No model loaded.** {self.model_error}", elem_id="model-missing")
            else:
                gr.Markdown(self.model.convention_note, elem_id="depth-convention")
                with gr.Accordion("What these checkpoints were trained on", open=True):
                    gr.Markdown(info_markdown(self.info, "Model with depth"), elem_id="model-info")
                    gr.Markdown(info_markdown(self.baseline_info, "Model without depth") if self.baseline_info
                                else f"**Model without depth**: none trained; Compare leaves the depth input out "
                                     f"of the model above. {self.baseline_note or ''}", elem_id="baseline-info")
            with gr.Row():
                with gr.Column():
                    image = CheckedImage(label="Image (any size and aspect ratio)", type="filepath", image_mode=None, height=320,
                                         sources=["upload", "clipboard"], elem_id="image")
                    depth_file = gr.File(label="Depth (optional): 16-bit PNG in mm or .npy in m",
                                         file_types=[".png", ".npy"], type="filepath", elem_id="depth-file")
                    depth_notice = gr.Markdown(elem_id="depth-notice")
                    question = gr.Textbox(label="Question", placeholder=self.example_questions[0], lines=2,
                                          elem_id="question")
                    question_note = gr.Markdown(elem_id="question-note")
                    with gr.Row():
                        ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                        compare_button = gr.Button("Compare with / without depth", elem_id="compare")
                    question_examples = gr.Examples([[q] for q in self.example_questions], inputs=[question],
                                                    label="Example questions", api_name="load_question",
                                                    elem_id="question-examples")
                with gr.Column():
                    answer = gr.Textbox(label="Answer", interactive=False, elem_id="answer")
                    with gr.Row():
                        ground_truth = gr.Textbox(label="Ground truth (gallery examples)", interactive=False, elem_id="ground-truth")
                        category = gr.Textbox(label="Category", interactive=False, elem_id="category")
                    score = gr.Markdown(label="Score against the ground truth", elem_id="score")
            compare_note = gr.Markdown(self.compare_note(), elem_id="compare-note")
            with gr.Row():
                with gr.Column():
                    with_depth = gr.Textbox(label="Answer with depth", interactive=False, elem_id="with-depth")
                    with gr.Row():
                        depth_image = gr.Image(label="Depth map given to the model", type="pil", interactive=False, height=320,
                                               elem_id="depth-image")
                        grid_image = gr.Image(label="What the depth encoding sees", type="pil", interactive=False, height=320,
                                              elem_id="grid-image")
                with gr.Column():
                    without_depth = gr.Textbox(label="Answer without depth", interactive=False, elem_id="without-depth")
                    baseline_view = gr.Image(label="What the model without depth sees", type="pil", interactive=False,
                                             height=320, elem_id="baseline-view")
            with gr.Accordion("Examples from held-out synthetic scenes", open=True, elem_id="gallery"):
                if self.examples_note:
                    gr.Markdown(f"> {self.examples_note}", elem_id="examples-missing")
                if self.examples:
                    gr.Examples(
                        [[e.image, e.depth, e.question, e.answer, e.category] for e in self.examples],
                        inputs=[image, depth_file, question, ground_truth, category],
                        label="Pick one, then press Ask", elem_id="examples", api_name="load_example",
                    )
                score_button = gr.Button("Run the model on every example", elem_id="score-examples")
                table = gr.Dataframe(headers=["category", "question", "ground truth", "answer", "delta", "success", "reason"],
                                     label="Gallery scored by the model", interactive=False, elem_id="examples-table")
            hidden = [gr.Button(visible=False) for _ in range(4)]

            # API-only endpoints first, so that they own their function's name (later uses get "_1").
            model_call = {"concurrency_id": "model"}  # one limit shared by every endpoint that runs the model
            hidden[0].click(self.answer, [image, depth_file, question], answer, api_name="answer", **model_call)
            hidden[1].click(self.compare, [image, depth_file, question], [with_depth, without_depth],
                            api_name="compare", **model_call)
            hidden[2].click(self.check_question, question, question_note, api_name="check_question", queue=False)
            hidden[3].click(self.depth_notice, [image, depth_file], depth_notice, api_name="depth_notice", queue=False)
            # A new upload or an edited question is no longer the gallery example: drop its ground truth.
            for event in (image.upload, depth_file.upload, question.input, question_examples.dataset.click):
                event(lambda: ("", ""), outputs=[ground_truth, category], queue=False, api_visibility="private")
            # Notes that need no model call, shown as soon as the inputs change (before anything is pressed).
            for event in (image.change, depth_file.change):
                event(self.depth_notice, [image, depth_file], depth_notice, queue=False, api_visibility="private")
            question.change(self.check_question, question, question_note, queue=False, api_visibility="private")
            ask_inputs = [image, depth_file, question, ground_truth, category]
            ask_outputs = [answer, depth_image, grid_image, score]
            ask_button.click(self.ask, ask_inputs, ask_outputs, api_name="ask", **model_call)
            question.submit(self.ask, ask_inputs, ask_outputs, api_visibility="private", **model_call)
            compare_button.click(self.compare_evidence, ask_inputs,
                                 ask_outputs + [with_depth, without_depth, baseline_view, compare_note],
                                 api_name="compare_evidence", **model_call)
            score_button.click(self.score_examples, None, table, api_name="score_examples", **model_call)
        demo.queue(default_concurrency_limit=self.config.concurrency_limit, max_size=self.config.queue_size)
        return demo

    def launch(self, server_name: str = "127.0.0.1", server_port: int = 7860, **kwargs):
        """Serve the page; binds 127.0.0.1 unless told otherwise. Extra kwargs go to `Blocks.launch`."""
        # The gallery's files need no allowed_paths: gr.Examples copies them into Gradio's cache.
        kwargs.setdefault("css", CSS)
        return self.demo.launch(server_name=server_name, server_port=server_port, max_file_size=self.config.max_file_size,
                                **kwargs)


def quickstart_dataset_beside(model: str | None) -> str | None:
    """`make quickstart` leaves its checkpoint at <dir>/best and its data at <dir>/msmu: the gallery
    then shows the very held-out scenes that checkpoint was evaluated on."""
    if not model:
        return None
    candidate = Path(model).parent / "msmu"
    return str(candidate) if (candidate / "data").is_dir() else None


def baseline_beside(model: str | None) -> str | None:
    """`make quickstart` leaves the trained no-depth twin of <dir>/best at <dir>/no_depth_best."""
    if not model:
        return None
    candidate = Path(model).parent / BASELINE_BESIDE
    return str(candidate) if (candidate / "config.json").is_file() else None


def create_app(config: SpaceConfig | None = None) -> SpaceApp:
    return SpaceApp(config or SpaceConfig.from_env())


def score_item(answer: str, ground_truth: str, category: str, question: str | None = None) -> tuple[float | None, bool, str]:
    """By the MSMU metric: delta = max(pred/gt, gt/pred) (None for qualitative or unreadable
    answers), success, and the metric's reason (why it failed, or "ok"). The question lets the
    metric pick the asked object of a count and resolve which-one answers."""
    try:
        from metrics.msmu_accuracy.scoring import compute_msmu_accuracy
    except ImportError as error:  # the project is not installed: answer, but do not score
        return None, False, f"{NOT_SCORED} the metrics package is not installed ({error}); install the sdvlm project"
    try:
        item = compute_msmu_accuracy(predictions=[answer], references=[ground_truth], categories=[category],
                                     questions=[question], return_per_item=True)["items"][0]
    except ValueError as error:  # a reference the metric cannot read: report it, do not fail the request
        return None, False, f"ground truth not scorable: {error}"
    return item.get("delta"), bool(item["success"]), item.get("reason", "")


def score_markdown(answer: str, ground_truth: str | None, category: str | None, question: str | None = None) -> str:
    # An undertrained checkpoint may end its reply at once; say so rather than show a blank box only.
    empty = "The model returned an empty answer. " if not answer.strip() else ""
    if not ground_truth:
        return empty
    delta, success, reason = score_item(answer, ground_truth, category, question)
    if reason.startswith(NOT_SCORED):
        return f"{empty}Ground truth `{ground_truth}` ({category}): {reason}."
    verdict = "correct" if success else f"wrong ({reason})"
    if delta is None:
        return f"{empty}Ground truth `{ground_truth}` ({category}): the answer is **{verdict}**."
    return (f"{empty}Ground truth `{ground_truth}` ({category}): delta = max(pred/gt, gt/pred) = **{delta:.3f}**, "
            f"**{verdict}** at the MSMU threshold 1.25.")


# Small images (the tiny preset trains on 32 px) are shown enlarged with hard pixel edges, as the model sees them.
CSS = """
#image img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }
#examples img { image-rendering: pixelated; }
"""

INTRO = """# SD-VLM: measure a scene
Ask a spatial question (sizes, distances, counts, left/right) about a photo. SD-VLM adds a
**depth positional encoding** to the image tokens: upload a depth map (16-bit PNG in millimetres,
or `.npy` in meters) or let the model's depth estimator make one. The page shows the depth map,
the grid of values the encoding received (one cell per image token), and, with **Compare**, the
answers of the model with depth and of its twin trained without depth, side by side.
"""

if __name__ == "__main__":  # the Hub runs `python app.py`; it sets GRADIO_SERVER_NAME to 0.0.0.0 there
    create_app().launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))

__all__ = ["SpaceConfig", "SpaceApp", "CheckedImage", "create_app", "quickstart_dataset_beside", "baseline_beside", "score_item", "score_markdown",
           "DEFAULT_MODEL", "BASELINE_BESIDE", "MAX_FILE_SIZE", "CONCURRENCY_LIMIT", "EXAMPLE_QUESTIONS"]
