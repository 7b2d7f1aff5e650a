"""Sidecar manifests: a `manifest.yaml` or `manifest.csv` in a corpus folder, keyed by file name.

Each entry may set outlet, date, title, url, byline, agency, dateline. A value overrides what
extraction found; the value `unknown` records that a field cannot be known; an absent or empty
value leaves extraction's result alone.
"""

from __future__ import annotations

import csv
from dataclasses import fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from index.metadata import ArticleMeta, parse_date, without_surrogates

MANIFEST_NAMES = ("manifest.yaml", "manifest.yml", "manifest.csv")
_FIELDS = {f.name for f in fields(ArticleMeta)}


class ManifestError(ValueError):
    """A manifest that cannot be read."""


def find_manifest(folder: Path) -> Path | None:
    """The manifest file in `folder`, if any."""
    return next((folder / n for n in MANIFEST_NAMES if (folder / n).is_file()), None)


def load_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """Entries keyed by file name (relative to the manifest's folder)."""
    try:
        entries = _read_csv(path) if path.suffix == ".csv" else _read_yaml(path)
    except (OSError, yaml.YAMLError, csv.Error, UnicodeDecodeError, RecursionError) as exc:
        raise ManifestError(f"{path}: cannot read manifest ({exc})") from exc
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            raise ManifestError(f"{path}: bad entry {name!r}: expected a mapping of fields")
        unknown = sorted(str(key) for key in set(entry) - _FIELDS)
        if not name or unknown:
            raise ManifestError(f"{path}: bad entry {name!r}: unknown fields {unknown}")
    return {str(k): v for k, v in entries.items()}


def _read_csv(path: Path) -> dict[Any, Any]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {row.pop("file", "") or "": row for row in rows}


def _read_yaml(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = loaded.get("articles", loaded) if isinstance(loaded, dict) else None
    if not isinstance(entries, dict):
        raise ManifestError("expected a mapping of file name to fields")
    return entries


def apply_manifest(meta: ArticleMeta, entry: dict[str, Any] | None) -> ArticleMeta:
    """`meta` with the manifest entry's values applied."""
    if not entry:
        return meta
    changes: dict[str, Any] = {}
    for key, value in entry.items():
        if value is None or str(value).strip() == "":
            continue
        text = without_surrogates(str(value).strip())  # YAML escapes can spell them too
        if text.lower() == "unknown":
            changes[key] = None
        elif key == "date":
            changes[key] = _manifest_date(value)
        else:
            changes[key] = text
    return replace(meta, **changes)


def _manifest_date(value: Any) -> date | None:
    """A date from YAML (already a date) or text; anything else (`date: 5`) is no date."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else parse_date(str(value).strip())
