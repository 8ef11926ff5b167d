"""Read one numeric matrix from a MATLAB level-5 `.mat` file (what `save(f, 'x')` writes), no scipy.

Enough of the format (MathWorks, "MAT-File Format", level 5) for the SUN RGB-D export: a 128-byte
header, then data elements (an 8-byte tag: type, byte count; or the 4-byte "small element" form),
optionally zlib-compressed (`miCOMPRESSED`, the default since MATLAB 7); a matrix element
(`miMATRIX`) holds array flags, dimensions, the name and the real part, column-major, in a numeric
type that may be narrower than the array's class. v7.3 files are HDF5 and are refused with a hint.
"""

import zlib
from pathlib import Path

import numpy as np

from ..scene import SceneError

_TYPES = {1: "i1", 2: "u1", 3: "<i2", 4: "<u2", 5: "<i4", 6: "<u4", 7: "<f4", 9: "<f8", 12: "<i8", 13: "<u8"}
_MATRIX, _COMPRESSED = 14, 15


def _elements(buffer: bytes, offset: int, path: Path):
    """Yield (type, payload bytes) of the data elements from `offset` to the end of `buffer`."""
    while offset + 8 <= len(buffer):
        kind, size = np.frombuffer(buffer, "<u4", 2, offset)
        kind, size = int(kind), int(size)
        if kind >> 16:  # small element: 2-byte size, 2-byte type, data in the next 4 bytes
            yield kind & 0xFFFF, buffer[offset + 4: offset + 4 + (kind >> 16)]
            offset += 8
            continue
        end = offset + 8 + size
        if end > len(buffer):
            raise SceneError(f"{path}: truncated MAT file (element of {size} bytes at offset {offset})")
        yield kind, buffer[offset + 8: end]
        offset = end if kind == _COMPRESSED else offset + 8 + (size + 7) // 8 * 8


def _matrix(payload: bytes, path: Path) -> tuple[str, np.ndarray]:
    parts = list(_elements(payload, 0, path))
    if len(parts) < 4:
        raise SceneError(f"{path}: malformed MAT matrix element")
    (_, flags), (_, dims), (_, name), (data_type, data) = parts[:4]
    if np.frombuffer(flags, "<u4")[0] & 0x800:
        raise SceneError(f"{path}: complex matrices are not supported")
    shape = tuple(int(d) for d in np.frombuffer(dims, "<i4"))
    if data_type not in _TYPES:
        raise SceneError(f"{path}: unsupported MAT numeric type {data_type}")
    values = np.frombuffer(data, _TYPES[data_type])
    if values.size != int(np.prod(shape)):
        raise SceneError(f"{path}: MAT matrix has {values.size} values for shape {shape}")
    return name.decode("ascii", errors="replace"), values.reshape(shape, order="F").astype(np.float64)


def read_mat_matrix(path, name: str) -> np.ndarray:
    """The numeric matrix called `name` in a level-5 MAT file, as float64 in MATLAB's shape."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    if raw[:8] == b"\x89HDF\r\n\x1a\n" or raw[512:520] == b"\x89HDF\r\n\x1a\n":
        raise SceneError(f"{path}: a MATLAB v7.3 (HDF5) file; save it with save(..., '-v7')")
    if len(raw) < 128 or raw[126:128] != b"IM":
        raise SceneError(f"{path}: not a little-endian level-5 MAT file")
    for kind, payload in _elements(raw, 128, path):
        if kind == _COMPRESSED:
            try:
                payload = zlib.decompress(payload)
            except zlib.error as err:
                raise SceneError(f"{path}: corrupt compressed MAT element ({err})") from err
            kind, payload = next(_elements(payload, 0, path))
        if kind == _MATRIX:
            found, matrix = _matrix(payload, path)
            if found == name:
                return matrix
    raise SceneError(f"{path}: no matrix named {name!r}")


__all__ = ["read_mat_matrix"]
