"""A saved keyword segment's files: their names, and the checksums written with them and
verified when the segment is opened."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ARRAYS = ("doc", "start", "end", "chunk", "length", "text_at", "terms", "indptr", "rows", "tf")
FILES = (*(f"{key}.npy" for key in ARRAYS), "texts.bin", "ids.json", "articles.jsonl")


class Damaged(ValueError):
    """A saved segment's file is missing, unreadable or not what was written."""

    def __init__(self, folder: Path, name: str, file: str, why: str) -> None:
        super().__init__(f"keyword segment {folder / name}: {file} {why}")
        self.name, self.file = name, file


def checksum(file: Path) -> str:
    """The checksum a segment's meta.json records for one of its files."""
    with file.open("rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def verified(folder: Path, name: str, only: Sequence[str] = FILES) -> dict[str, Any]:
    """A saved segment's meta.json, once the files named in `only` match their checksums.

    A segment written before checksums existed has none to check and passes.
    """
    path = folder / name
    try:
        meta = json.loads((path / "meta.json").read_text())
        seq, sums = float(meta["seq"]), meta.get("checksums", {})
    except FileNotFoundError:
        if not path.exists():
            raise  # merged away by another process: the caller reads the manifest again
        raise Damaged(folder, name, "meta.json", "is missing") from None
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise Damaged(folder, name, "meta.json", f"cannot be read ({exc})") from exc
    for file in (f for f in only if f in sums):
        _check(folder, name, file, sums[file])
    return {**meta, "seq": seq}


def _check(folder: Path, name: str, file: str, wanted: str) -> None:
    try:
        found = checksum(folder / name / file)
    except FileNotFoundError:
        raise Damaged(folder, name, file, "is missing") from None
    except OSError as exc:  # unreadable (permissions, I/O error): as good as damaged
        raise Damaged(folder, name, file, f"cannot be read ({exc})") from exc
    if found != wanted:
        raise Damaged(folder, name, file, "does not match its checksum")
