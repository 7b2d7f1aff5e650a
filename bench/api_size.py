"""Bytes of `/api/ask` responses for the seed questions: the lean default, with
`?include=passages`, and the full internal answer (every passage twice, as the API once sent).

    python bench/api_size.py --data-dir DIR   (an index of the default corpus: `newsdesk ingest`)
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, it imports the repo's own packages


def main() -> None:
    import yaml
    from fastapi.testclient import TestClient

    from newsdesk.factory import build_newsdesk
    from newsdesk.settings import Settings
    from ui.api import create_app

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "eval" / "seed.yaml")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    engine = build_newsdesk(settings)
    client = TestClient(create_app(engine, settings.server, ui=False))
    specs = yaml.safe_load(args.questions.read_text())["questions"]
    asked = [q["question"] for q in specs if q.get("question")]
    full = [len(engine.ask(q).model_dump_json()) for q in asked]
    lean = [len(client.post("/api/ask", json={"question": q}).content) for q in asked]
    texts = [
        len(client.post("/api/ask?include=passages", json={"question": q}).content) for q in asked
    ]
    print(
        f"{len(asked)} questions; median bytes: full {statistics.median(full):.0f}, "
        f"lean {statistics.median(lean):.0f}, with passages {statistics.median(texts):.0f}"
    )
    print(
        f"lean / full: median {statistics.median(a / b for a, b in zip(lean, full, strict=True)):.3f}, "
        f"total {sum(lean) / sum(full):.3f}"
    )


if __name__ == "__main__":
    main()
