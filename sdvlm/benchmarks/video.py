"""Uniform frame sampling from a video file, decoded with PyAV (FFmpeg bindings, PyPI `av`).

The indices are those of lmms-eval's VSI-Bench task (`lmms_eval/tasks/vsibench/utils.py`,
`sample_vsibench_video_frames`): `np.linspace(0, total - 1, n, dtype=int)` over the decoded
frames, n = min(num_frames, total).
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def frame_indices(total: int, num_frames: int) -> list[int]:
    """>>> frame_indices(10, 4)
    [0, 3, 6, 9]
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if total < 1:
        raise ValueError("the video has no frames")
    return np.linspace(0, total - 1, min(num_frames, total), dtype=int).tolist()


def sample_frames(path: str, num_frames: int) -> list[Image.Image]:
    """`num_frames` RGB frames of the video at `path`, uniformly spaced (see `frame_indices`).

    Two decoding passes: the first counts the frames (container frame counts are unreliable for
    many mp4 files), the second converts only the chosen ones, so memory holds `num_frames` images.
    """
    try:
        import av
    except ImportError as error:
        raise ImportError(
            "VSI-Bench videos are decoded with PyAV: pip install 'av<16' (the `benchmarks` extra of this package)"
        ) from error
    with av.open(str(path)) as container:
        total = sum(1 for _ in container.decode(video=0))
    wanted = frame_indices(total, num_frames)
    chosen: dict[int, Image.Image] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                chosen[index] = frame.to_image().convert("RGB")
            if index >= wanted[-1]:
                break
    return [chosen[i] for i in wanted]


__all__ = ["frame_indices", "sample_frames"]
