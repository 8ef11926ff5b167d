"""Readers for the files of ScanNet's official export, each raising `SceneError` naming the file.

Only numpy, json and Pillow: the PLY reader handles the two encodings ScanNet meshes come in
(``binary_little_endian`` as released, ``ascii`` as re-saved by some tools) without a new dependency.
"""

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from ..scene import SceneError
from ..validation import check_pose

# PLY scalar type names (both spellings) -> numpy little-endian dtypes.
_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "<i2", "int16": "<i2", "ushort": "<u2", "uint16": "<u2",
    "int": "<i4", "int32": "<i4", "uint": "<u4", "uint32": "<u4",
    "float": "<f4", "float32": "<f4", "double": "<f8", "float64": "<f8",
}


def _parse_ply_header(path: Path, raw: bytes) -> tuple[str, list[dict], int]:
    """Returns (format, elements, offset of the body). Each element: name, count, properties
    (list of (name, dtype) or (name, ("list", count_dtype, item_dtype)))."""
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise SceneError(f"{path}: not a PLY file (missing 'ply' magic or 'end_header')")
    body = raw.index(b"\n", end) + 1
    fmt, elements = None, []
    for line in raw[:end].decode("ascii", errors="replace").splitlines()[1:]:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        try:
            if words[0] == "format":
                fmt = words[1]
            elif words[0] == "element":
                elements.append({"name": words[1], "count": int(words[2]), "properties": []})
            elif words[0] == "property" and words[1] == "list":
                kind = ("list", _PLY_TYPES[words[2]], _PLY_TYPES[words[3]])
                elements[-1]["properties"].append((words[4], kind))
            elif words[0] == "property":
                elements[-1]["properties"].append((words[2], _PLY_TYPES[words[1]]))
        except (IndexError, KeyError, ValueError) as err:
            raise SceneError(f"{path}: malformed PLY header line {line!r}") from err
    if fmt not in ("binary_little_endian", "ascii"):
        raise SceneError(f"{path}: unsupported PLY format {fmt!r} (binary_little_endian or ascii)")
    return fmt, elements, body


def _read_binary_faces(path: Path, raw: bytes, offset: int, element: dict) -> tuple[np.ndarray, int]:
    """Triangle faces of a binary element whose only list property is the vertex indices. The
    fast path assumes triangles (ScanNet's meshes are all triangles) and checks that it holds."""
    fields = []
    for name, kind in element["properties"]:
        if isinstance(kind, tuple):
            fields += [(f"{name}__n", kind[1]), (name, kind[2], (3,))]
        else:
            fields.append((name, kind))
    dtype = np.dtype(fields)
    nbytes = dtype.itemsize * element["count"]
    if offset + nbytes > len(raw):
        raise SceneError(f"{path}: truncated PLY (faces need {nbytes} bytes at offset {offset}, "
                         f"file has {len(raw)})")
    table = np.frombuffer(raw, dtype=dtype, count=element["count"], offset=offset)
    list_name = next(name for name, kind in element["properties"] if isinstance(kind, tuple))
    if element["count"] and not np.all(table[f"{list_name}__n"] == 3):
        raise SceneError(f"{path}: only triangle faces are supported")
    return table[list_name].astype(np.int64), offset + nbytes


def read_ply(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reads a triangle mesh with per-vertex colours.

    Returns:
        vertices (V, 3) float64, colors (V, 3) uint8 (mid-gray where the file has none),
        faces (F, 3) int64 (empty (0, 3) for a point cloud).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SceneError(f"{path}: cannot read mesh ({err.strerror or err})") from err
    fmt, elements, offset = _parse_ply_header(path, raw)
    names = [e["name"] for e in elements]
    if "vertex" not in names:
        raise SceneError(f"{path}: PLY has no 'vertex' element")
    vertex_table, faces = None, np.zeros((0, 3), np.int64)
    if fmt == "ascii":
        lines = raw[offset:].decode("ascii", errors="replace").splitlines()
        cursor = 0
        for element in elements:
            rows = lines[cursor:cursor + element["count"]]
            cursor += element["count"]
            if len(rows) < element["count"]:
                raise SceneError(f"{path}: truncated PLY ({element['name']} has {len(rows)} of "
                                 f"{element['count']} rows)")
            try:
                if element["name"] == "vertex":
                    values = np.array([r.split()[:len(element["properties"])] for r in rows], float)
                    vertex_table = {name: values[:, i] for i, (name, _) in enumerate(element["properties"])}
                elif element["name"] == "face":
                    items = [r.split() for r in rows]
                    if any(it[0] != "3" for it in items):
                        raise SceneError(f"{path}: only triangle faces are supported")
                    faces = np.array([it[1:4] for it in items], np.int64).reshape(-1, 3)
            except SceneError:
                raise
            except (IndexError, ValueError) as err:
                raise SceneError(f"{path}: malformed {element['name']} row in ASCII PLY") from err
    else:
        for element in elements:
            if any(isinstance(kind, tuple) for _, kind in element["properties"]):
                parsed, offset = _read_binary_faces(path, raw, offset, element)
                if element["name"] == "face":
                    faces = parsed
                continue
            dtype = np.dtype([(name, kind) for name, kind in element["properties"]])
            nbytes = dtype.itemsize * element["count"]
            if offset + nbytes > len(raw):
                raise SceneError(f"{path}: truncated PLY ({element['name']} needs {nbytes} bytes at "
                                 f"offset {offset}, file has {len(raw)})")
            table = np.frombuffer(raw, dtype=dtype, count=element["count"], offset=offset)
            offset += nbytes
            if element["name"] == "vertex":
                vertex_table = {name: table[name] for name in dtype.names}
    if not {"x", "y", "z"} <= set(vertex_table):
        raise SceneError(f"{path}: PLY vertices lack x/y/z")
    vertices = np.stack([vertex_table[k] for k in "xyz"], axis=1).astype(np.float64)
    if {"red", "green", "blue"} <= set(vertex_table):
        colors = np.stack([vertex_table[k] for k in ("red", "green", "blue")], 1).astype(np.uint8)
    else:
        colors = np.full((len(vertices), 3), 128, np.uint8)
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise SceneError(f"{path}: face indices out of range for {len(vertices)} vertices")
    bad = ~np.isfinite(vertices).all(axis=1)
    if bad.any():
        raise SceneError(f"{path}: {int(bad.sum())} of {len(vertices)} vertices have NaN or infinite coordinates "
                         f"(first: vertex {int(np.argmax(bad))})")
    return vertices, colors, faces


def read_json(path: Path) -> dict:
    """Parses a JSON file, naming the file in any error."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SceneError(f"{path}: malformed JSON ({err})") from err


def read_segments(path: Path, num_vertices: int) -> np.ndarray:
    """Per-vertex segment ids from ``*_vh_clean_2.0.010000.segs.json``: (num_vertices,) int64."""
    data = read_json(path)
    seg = data.get("segIndices") if isinstance(data, dict) else None
    if not isinstance(seg, list):
        raise SceneError(f"{path}: no 'segIndices' list")
    seg = np.asarray(seg)
    if seg.shape != (num_vertices,) or not np.issubdtype(seg.dtype, np.integer):
        raise SceneError(f"{path}: 'segIndices' must hold one integer per mesh vertex "
                         f"({num_vertices}), got shape {seg.shape} of {seg.dtype}")
    if seg.size and seg.max() < 0:
        raise SceneError(f"{path}: every segment id is negative: the over-segmentation is empty or corrupt")
    return seg.astype(np.int64)


def read_aggregation(path: Path) -> list[dict]:
    """The ``segGroups`` of ``*.aggregation.json``: list of {objectId: int, label: str,
    segments: list[int]}."""
    data = read_json(path)
    groups = data.get("segGroups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise SceneError(f"{path}: no 'segGroups' list")
    out = []
    for i, group in enumerate(groups):
        try:
            object_id = int(group.get("objectId", group.get("id")))
            out.append({"objectId": object_id, "label": str(group["label"]),
                        "segments": [int(s) for s in group["segments"]]})
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise SceneError(f"{path}: segGroups[{i}] needs objectId, label and segments") from err
    ids = [g["objectId"] for g in out]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SceneError(f"{path}: duplicate objectId(s) {duplicates[:5]} in segGroups (each object needs its own id)")
    return out


def read_axis_alignment(path: Path) -> np.ndarray:
    """The 4x4 ``axisAlignment`` matrix (row-major, 16 numbers) of ``<scene>.txt``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise SceneError(f"{path}: cannot read scene meta file ({err.strerror or err})") from err
    match = re.search(r"^\s*axisAlignment\s*=\s*(.*)$", text, flags=re.MULTILINE)
    if match is None:
        raise SceneError(f"{path}: no 'axisAlignment = ...' line")
    try:
        values = np.array([float(v) for v in match.group(1).split()])
    except ValueError as err:
        raise SceneError(f"{path}: axisAlignment is not 16 numbers") from err
    if values.shape != (16,) or not np.all(np.isfinite(values)):
        raise SceneError(f"{path}: axisAlignment must be 16 finite numbers, got {values.size}")
    return values.reshape(4, 4)


def read_pose(path: Path) -> np.ndarray | None:
    """A camera-to-world pose file: the 4x4 matrix, None for ScanNet's untracked frames (-inf
    rows), `SceneError` naming the file when it is not a rigid transform (a singular matrix, for
    one). Gravity is checked later, in the aligned frame (`validation.validate_frame`)."""
    pose = read_matrix(path)
    if not np.all(np.isfinite(pose)):
        return None
    try:
        return check_pose(pose, str(path), gravity=False)
    except ValueError as err:
        raise SceneError(str(err)) from None


def read_matrix(path: Path) -> np.ndarray:
    """A 4x4 whitespace-separated matrix (``pose/*.txt``, ``intrinsic/*.txt``). May be non-finite:
    ScanNet marks frames without tracking with ``-inf`` poses, which callers skip."""
    path = Path(path)
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    except (OSError, ValueError) as err:
        raise SceneError(f"{path}: malformed 4x4 matrix ({err})") from err
    if values.shape != (4, 4):
        raise SceneError(f"{path}: expected a 4x4 matrix, got shape {values.shape}")
    return values


def read_npy(path: Path) -> np.ndarray:
    """A `.npy` array (pickles refused), naming the file in any error."""
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    except (OSError, ValueError) as err:
        raise SceneError(f"{path}: unreadable .npy ({err})") from err


def read_image(path: Path, mode: str | None = None) -> np.ndarray:
    """An image as a numpy array, converted to `mode` when given ("RGB" for colour)."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img.convert(mode) if mode else img)
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    except OSError as err:  # PIL raises OSError subclasses for truncated / unknown images
        raise SceneError(f"{path}: unreadable image ({err})") from err


__all__ = ["read_ply", "read_json", "read_segments", "read_aggregation", "read_axis_alignment",
           "read_matrix", "read_pose", "read_npy", "read_image"]
