"""`sdvlm-space`: serve the SD-VLM Gradio Space locally.

    sdvlm-space --model outputs/quickstart/best --port 7860
    sdvlm-space --model PATH --baseline-model NO_DEPTH_PATH   # Compare's "without depth" model
    sdvlm-space --model PATH --depth-estimator PATH_OR_ID   # e.g. an offline depth estimator

The Space itself lives in `spaces/sdvlm/app.py` so that the folder deploys to the Hub as it is;
this entry point loads that file by path (`load_space_module`) from the source checkout (the
project is installed editable), so there is exactly one copy of the app.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

SPACE_DIR = Path(__file__).resolve().parents[1] / "spaces" / "sdvlm"
MODULE_NAME = "sdvlm_space_app"


def load_space_module(space_dir: Path = SPACE_DIR):
    """Import `spaces/sdvlm/app.py` by file path (once) and return the module."""
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    app_file = Path(space_dir) / "app.py"
    if not app_file.is_file():
        raise FileNotFoundError(
            f"The Space app is not at {app_file}; sdvlm-space runs from a source checkout "
            "(pip install -e .), where spaces/sdvlm/app.py sits beside the sdvlm package."
        )
    spec = importlib.util.spec_from_file_location(MODULE_NAME, app_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[MODULE_NAME]
        raise
    return module


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sdvlm-space", description="Serve the SD-VLM Gradio Space.")
    parser.add_argument("--model", default=os.environ.get("SDVLM_MODEL", "outputs/quickstart/best"),
                        help="checkpoint folder or Hub id (default: $SDVLM_MODEL or outputs/quickstart/best)")
    parser.add_argument("--baseline-model", default=os.environ.get("SDVLM_BASELINE_MODEL"),
                        help="the model trained without depth that Compare puts beside --model (default: "
                             "$SDVLM_BASELINE_MODEL, else <model>/../no_depth_best where make quickstart leaves it; "
                             "'' for none: the model itself with its depth left out)")
    parser.add_argument("--depth-estimator", default=os.environ.get("SDVLM_DEPTH_ESTIMATOR"),
                        help="depth-estimation model (folder or Hub id) used when no depth map is uploaded; "
                             "default: the checkpoint's configured estimator")
    parser.add_argument("--examples-dir", default=os.environ.get("SDVLM_EXAMPLES_DIR"),
                        help="MSMU dataset folder whose test split feeds the examples gallery "
                             "(default: the quickstart's data beside the model, <model>/../msmu, else a "
                             "small synthetic set built on first start)")
    parser.add_argument("--cache-dir", default=None, help="where the gallery's files are kept")
    parser.add_argument("--num-examples", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    space = load_space_module()
    overrides = {"cache_dir": args.cache_dir, "max_new_tokens": args.max_new_tokens}
    config = space.SpaceConfig(
        model=args.model, baseline_model=args.baseline_model, depth_estimator=args.depth_estimator, examples_dir=args.examples_dir,
        num_examples=args.num_examples, **{key: value for key, value in overrides.items() if value is not None},
    )
    try:
        app = space.create_app(config)
    except space.DepthUnavailable as error:  # a bad --depth-estimator: say so without a traceback
        raise SystemExit(f"sdvlm-space: {error}") from error
    if app.model is None:
        print(f"sdvlm-space: {app.model_error}", file=sys.stderr)
    app.launch(server_name=args.host, server_port=args.port)


__all__ = ["SPACE_DIR", "build_parser", "load_space_module", "main"]
