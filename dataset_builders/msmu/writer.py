"""Write a Hub-style dataset folder atomically: parquet shards under data/ plus a README.md card.

Everything is written into a hidden temporary sibling folder, which is renamed onto the output path
only once every shard and the card are complete (one `os.replace`, atomic on POSIX). An interrupted
or failed build therefore leaves either no output folder or the previous one, never a folder that
`load_dataset` would read as complete; the temporary folder is removed on failure, and temporary
folders left by a killed build (their process is gone) are removed by the next build.

`overwrite` replaces only a folder that this writer made (its card carries `CARD_MARKER` and it
holds nothing but README.md and data/) or an empty one: a mistyped `--output ~` fails instead of
deleting a home folder. The card text is `card.md` filled in by `render_card`.
"""

import io
import os
import shutil
import string
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from datasets import Dataset, Features, SplitDict, SplitInfo
from datasets.arrow_writer import OptimizedTypedSequence
from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.table import InMemoryTable
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData
from PIL import Image

from .conventions import meters_to_depth_units

CARD_MARKER = "<!-- written by dataset_builders.msmu -->"
_PID_FILE = ".msmu-build-pid"


def encode_png(array: np.ndarray) -> bytes:
    """(H, W, 3) uint8 or (H, W) uint16 -> PNG bytes (lossless, fast compression)."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def depth_to_png(depth: np.ndarray) -> bytes:
    """(H, W) float32 meters -> 16-bit PNG in millimetres (0 = invalid, clipped at 65.535 m)."""
    return encode_png(meters_to_depth_units(depth))


class DatasetFolderWriter:
    """Collects rows per split, writes them in parquet shards, and publishes the folder at the end.

    Args:
        output_dir: the folder to create.
        features: the schema every row follows.
        overwrite: replace an existing `output_dir` (only once the new one is complete).
        max_shard_bytes: a shard is flushed when its rows' image bytes pass this size.

    Use as a context manager: leaving the block with an exception removes the temporary folder.
    """

    def __init__(self, output_dir, features: Features, overwrite: bool = False, max_shard_bytes: int = 256 * 2**20):
        self.output_dir = Path(output_dir).resolve()
        if self.output_dir.exists() and not overwrite:
            raise FileExistsError(f"output folder {self.output_dir} already exists (pass overwrite=True / --overwrite)")
        if self.output_dir.exists():
            check_replaceable(self.output_dir)
        self.output_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.output_dir)
        self.features = features
        self.overwrite = overwrite
        self.max_shard_bytes = int(max_shard_bytes)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.output_dir.name}.tmp-", dir=self.output_dir.parent))
        # mkdtemp makes the folder private (0700); the published dataset should read like any folder.
        self.tmp.chmod(0o755)
        (self.tmp / _PID_FILE).write_text(str(os.getpid()))
        (self.tmp / "data").mkdir()
        self._buffers: dict = {}
        self._buffer_bytes: dict = {}
        self._shards: dict = {}
        self.num_rows: dict = {}

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        return False

    def add(self, split: str, rows: list[dict]) -> None:
        buffer = self._buffers.setdefault(split, [])
        for row in rows:
            buffer.append(row)
            self._buffer_bytes[split] = self._buffer_bytes.get(split, 0) + _row_bytes(row)
        self.num_rows[split] = self.num_rows.get(split, 0) + len(rows)
        if self._buffer_bytes.get(split, 0) >= self.max_shard_bytes:
            self._flush(split)

    def add_stream(self, split: str, rows, chunk_size: int = 512, on_chunk=None) -> None:
        """`add` an iterable of rows in chunks of `chunk_size` (so a large source never sits in
        memory whole); `on_chunk(split, rows)` sees each chunk (e.g. statistics)."""
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_size:
                self.add(split, chunk)
                if on_chunk is not None:
                    on_chunk(split, chunk)
                chunk = []
        self.add(split, chunk)
        if on_chunk is not None:
            on_chunk(split, chunk)

    def _flush(self, split: str) -> None:
        rows = self._buffers.get(split)
        if not rows:
            return
        path = self.tmp / "data" / f"{split}-{len(self._shards.setdefault(split, [])):05d}.parquet"
        pq.write_table(rows_table(rows, self.features), path)
        self._shards[split].append(path)
        self._buffers[split] = []
        self._buffer_bytes[split] = 0

    def finalize(self, card_body: str) -> Path:
        """Flush, name the shards `{split}-XXXXX-of-NNNNN.parquet`, write the card, publish."""
        for split in list(self._buffers):
            self._flush(split)
        if not self._shards:
            raise ValueError("no rows were written: every scene was empty or skipped")
        split_infos = []
        for split, paths in self._shards.items():
            for index, path in enumerate(paths):
                path.rename(path.with_name(f"{split}-{index:05d}-of-{len(paths):05d}.parquet"))
            num_bytes = sum(p.stat().st_size for p in (self.tmp / "data").glob(f"{split}-*.parquet"))
            split_infos.append(SplitInfo(name=split, num_bytes=num_bytes, num_examples=self.num_rows[split]))
        (self.tmp / "README.md").write_text(dataset_card(self.features, split_infos, card_body), encoding="utf-8")
        (self.tmp / _PID_FILE).unlink()
        self._publish()
        return self.output_dir

    def _publish(self) -> None:
        old = None
        if self.output_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.output_dir.name}.old-", dir=self.output_dir.parent))
            os.replace(self.output_dir, old / "previous")
        os.replace(self.tmp, self.output_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def rows_table(rows: list[dict], features: Features):
    """The Arrow table `Dataset.from_list(rows, features=features).data.table` gives, built the same
    way (columns in the rows' key order, values encoded by `features`; the schema metadata carries
    the features, so each shard is self-describing) without the fingerprint `Dataset` would compute
    by hashing every byte of the table, images included, which was a sixth of a ScanNet build."""
    columns = {col: OptimizedTypedSequence(features.encode_column([row.get(col) for row in rows], col),
                                           type=features[col], col=col) for col in rows[0]}
    info = DatasetInfo(features=features)
    return Dataset(InMemoryTable.from_pydict(columns), info=info, fingerprint="unused").data.table


def check_replaceable(folder: Path) -> None:
    """FileExistsError unless `folder` is empty or an MSMU folder this writer made."""
    if not folder.is_dir():
        raise FileExistsError(f"{folder} exists and is not a folder; refusing to replace it")
    entries = {p.name for p in folder.iterdir()}
    if not entries:
        return
    card = folder / "README.md"
    marked = card.is_file() and CARD_MARKER in card.read_text(encoding="utf-8", errors="replace")
    if not marked or not entries <= {"README.md", "data"}:
        raise FileExistsError(
            f"{folder} is not an MSMU folder written by this builder (its README.md lacks the builder's marker "
            f"or it holds other files: {sorted(entries)[:5]}); refusing to overwrite it. Remove it yourself or "
            "choose another output folder."
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(output_dir: Path) -> list[Path]:
    """Remove `.NAME.tmp-*` / `.NAME.old-*` siblings of `output_dir` whose build process is gone
    (no pid file, or a pid that is not running); returns what was removed."""
    removed = []
    for pattern in (f".{output_dir.name}.tmp-*", f".{output_dir.name}.old-*"):
        for path in output_dir.parent.glob(pattern):
            pid_file = path / _PID_FILE
            try:
                pid = int(pid_file.read_text()) if pid_file.is_file() else None
            except (OSError, ValueError):
                pid = None
            if pid is not None and pid != os.getpid() and _alive(pid):
                continue  # another build in progress
            if (path / "previous").is_dir() and not output_dir.exists():
                os.replace(path / "previous", output_dir)  # killed while publishing: restore the old folder
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def render_card(source: str, command: str, settings: str, stats, config: str = "") -> str:
    """The card body: `card.md` with the source, the command that rebuilds the folder, the
    settings line, the build config (JSON) and the statistics (`BuildStats`)."""
    template = resources.files("dataset_builders.msmu").joinpath("card.md").read_text(encoding="utf-8")
    body = string.Template(template).substitute(source=source, command=command, settings=settings,
                                                config=config or "{}", stats=stats.markdown())
    return f"{CARD_MARKER}\n{body}"


def _row_bytes(row: dict) -> int:
    return sum(len(v["bytes"]) for v in row.values() if isinstance(v, dict) and isinstance(v.get("bytes"), bytes))


def dataset_card(features: Features, split_infos: list, body: str) -> str:
    """README.md text: YAML front matter (configs with data_files, dataset_info with the features
    and split sizes) followed by `body`."""
    info = DatasetInfo(features=features, config_name="default", splits=SplitDict())
    for split_info in split_infos:
        info.splits.add(split_info)
    card_data = DatasetCardData(license="other", task_categories=["visual-question-answering"], pretty_name="MSMU")
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)
    MetadataConfigs(
        {"default": {"data_files": [{"split": s.name, "path": f"data/{s.name}-*"} for s in split_infos]}}
    ).to_dataset_card_data(card_data)
    return f"---\n{card_data.to_yaml()}\n---\n\n{body.strip()}\n"


__all__ = ["DatasetFolderWriter", "dataset_card", "render_card", "encode_png", "depth_to_png", "rows_table", "check_replaceable",
           "remove_stale_temporaries", "CARD_MARKER"]
