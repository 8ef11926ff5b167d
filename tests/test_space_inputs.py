"""The Space's uploads whose header claims far more than the file holds (issue 15): every one is a
clear message, decided from the header before a pixel is decoded, and the server keeps serving.

- a 16-bit 30000x30000 depth PNG (Pillow refuses it as a decompression bomb),
- a 144-byte .npy whose header claims (100000, 100000) float64 (74.5 GiB),
- a valid 280 kB 12000x12000 16-bit depth PNG, which decoded costs 1.7 GB: its peak memory is
  measured in a fresh process,
- a .npy with a Python-object dtype, a truncated one, a 1-D one, a 30000x30000 image.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image
from test_space import QUESTION, build_space_assets, make_app, serve

IMAGE_SIZE = (100, 60)  # (width, height) of room.png below


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_png(path, width: int, height: int, *, complete: bool, rgb: bool = False) -> None:
    """A PNG of zeros (16-bit greyscale, or 8-bit RGB), written row by row (never held in memory):
    `complete` writes every row (a valid file that decodes to width*height pixels), else one row
    (a header that claims the size, as a hostile upload would)."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + (3 if rgb else 2) * width)  # filter byte + samples
    data = b"".join(compressor.compress(row) for _ in range(height if complete else 1)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8 if rgb else 16, 2 if rgb else 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data)
                     + png_chunk(b"IEND", b""))


def write_npy_header(path, shape, descr: str = "<f8", data: bytes = b"\0" * 16) -> None:
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": descr, "fortran_order": False, "shape": shape})
        handle.write(data)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_uploads")
    Image.fromarray(np.zeros((60, 100, 3), dtype=np.uint8)).save(root / "room.png")
    write_png(root / "bomb_30000.png", 30000, 30000, complete=False)
    write_png(root / "big_12000.png", 12000, 12000, complete=True)
    write_npy_header(root / "claims_100000.npy", (100000, 100000))
    write_npy_header(root / "truncated.npy", (60, 100), "<f4", b"\0" * 100)
    write_npy_header(root / "flat.npy", (6000,), "<f4", b"\0" * 24000)
    write_npy_header(root / "objects.npy", (60, 100), "|O", b"")
    write_png(root / "huge_image.png", 30000, 30000, complete=False, rgb=True)
    write_png(root / "large_image.png", 12000, 12000, complete=False, rgb=True)  # under Pillow's bomb limit
    return root


def space_inputs():
    from sdvlm.space import load_space_module

    load_space_module()  # puts spaces/sdvlm on sys.path
    import space_inputs

    return space_inputs


def test_the_crafted_files_are_what_they_claim(bad_files):
    assert (bad_files / "claims_100000.npy").stat().st_size == 144
    assert (bad_files / "bomb_30000.png").stat().st_size < 2_000
    assert (bad_files / "big_12000.png").stat().st_size < 400_000
    with Image.open(bad_files / "big_12000.png") as png:
        assert (png.mode, png.size) == ("I;16", (12000, 12000))


@pytest.mark.parametrize(
    "name, message",
    [
        ("bomb_30000.png", "claims far more pixels"),
        ("big_12000.png", "depth map is 12000x12000 .* but the image is 100x60"),
        ("claims_100000.npy", r"claims shape \(100000, 100000\) of float64 \(80,000,000,000 bytes\) but the file holds 16"),
        ("truncated.npy", "claims shape .* but the file holds 100 bytes"),
        ("flat.npy", r"shape \(6000,\)"),
        ("objects.npy", "Python objects, which are never unpickled"),
    ],
)
def test_bad_depth_headers_are_refused_with_a_message(bad_files, name, message):
    inputs = space_inputs()
    with pytest.raises(inputs.InputError, match=message):
        inputs.load_depth(bad_files / name, IMAGE_SIZE)


def test_image_header_over_the_limit_is_refused_before_decoding(bad_files):
    inputs = space_inputs()
    with pytest.raises(inputs.InputError, match="far over the pixel limit"):
        inputs.load_image(bad_files / "huge_image.png")
    with pytest.raises(inputs.InputError, match="12000x12000 = 144,000,000 pixels, over the limit"):
        inputs.load_image(bad_files / "large_image.png")  # only one row of pixels in the file: never decoded


PEAK_SCRIPT = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])
import space_inputs
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    space_inputs.load_depth(sys.argv[2], (100, 60))
    message = None
except space_inputs.InputError as error:
    message = str(error)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"message": message, "peak_increase_kb": after - before}))
"""


def test_valid_12000px_depth_png_costs_no_memory(bad_files):
    """Decoded, it would take 12000*12000*(2 + 4 + 4) bytes = 1.4 GB; checked from the header, nothing."""
    from sdvlm.space import SPACE_DIR

    run = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(SPACE_DIR), str(bad_files / "big_12000.png")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert "depth map is 12000x12000" in result["message"]
    assert result["peak_increase_kb"] < 50_000, result  # under 50 MB, against 1,400 MB decoded


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from gradio_client import Client

    app = make_app(build_space_assets(tmp_path_factory.mktemp("space")), max_file_size="2mb")
    url = serve(app)
    yield Client(url, verbose=False)
    app.demo.close()


@pytest.mark.parametrize(
    "image, depth, message",
    [
        ("room.png", "bomb_30000.png", "claims far more pixels"),
        ("room.png", "claims_100000.npy", r"claims shape \(100000, 100000\)"),
        ("room.png", "big_12000.png", "depth map is 12000x12000"),
        ("room.png", "objects.npy", "never unpickled"),
        ("huge_image.png", None, "far too many pixels|far over the pixel limit"),
        ("large_image.png", None, "over the limit of 200,000"),
    ],
)
def test_bad_headers_through_the_page_then_a_good_request(client, bad_files, image, depth, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    for endpoint, extra in (("/answer", ()), ("/compare_evidence", ("", "")), ("/ask", ("", ""))):
        with pytest.raises(AppError, match=message):
            client.predict(handle_file(str(bad_files / image)), depth and handle_file(str(bad_files / depth)),
                           QUESTION, *extra, api_name=endpoint)
    assert client.predict(handle_file(str(bad_files / "room.png")), None, QUESTION, api_name="/answer").strip()
