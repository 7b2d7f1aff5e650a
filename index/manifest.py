"""Sidecar manifests: a `manifest.yaml` or `manifest.csv` in a corpus folder, keyed by file name.

Each entry may set outlet, date, title, url, byline, agency, dateline. A value overrides what
extraction found; the value `unknown` records that a field cannot be known; an absent or empty
value leaves extraction's result alone.
"""

from __future__ import annotations

import csv
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml

from index.metadata import ArticleMeta, parse_date

MANIFEST_NAMES = ("manifest.yaml", "manifest.yml", "manifest.csv")
_FIELDS = {f.name for f in fields(ArticleMeta)}


class ManifestError(ValueError):
    """A manifest that cannot be read."""


def find_manifest(folder: Path) -> Path | None:
    """The manifest file in `folder`, if any."""
    return next((folder / n for n in MANIFEST_NAMES if (folder / n).is_file()), None)


def load_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """Entries keyed by file name (relative to the manifest's folder)."""
    entries: Any
    try:
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            entries = {row.pop("file", "") or "": row for row in rows}
        else:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            entries = loaded.get("articles", loaded) if isinstance(loaded, dict) else None
            if not isinstance(entries, dict):
                raise ManifestError("expected a mapping of file name to fields")
    except (OSError, yaml.YAMLError, csv.Error, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read manifest ({exc})") from exc
    for name, entry in entries.items():
        unknown = set(entry or {}) - _FIELDS
        if not name or not isinstance(entry, dict) or unknown:
            raise ManifestError(f"{path}: bad entry {name!r}: unknown fields {sorted(unknown)}")
    return {str(k): v for k, v in entries.items()}


def apply_manifest(meta: ArticleMeta, entry: dict[str, Any] | None) -> ArticleMeta:
    """`meta` with the manifest entry's values applied."""
    if not entry:
        return meta
    changes: dict[str, Any] = {}
    for key, value in entry.items():
        if value is None or str(value).strip() == "":
            continue
        text = str(value).strip()
        if text.lower() == "unknown":
            changes[key] = None
        elif key == "date":
            changes[key] = value if not isinstance(value, str) else parse_date(text)
        else:
            changes[key] = text
    return replace(meta, **changes)
