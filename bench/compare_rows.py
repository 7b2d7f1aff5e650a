"""Two runs of `python -m bench realtimeqa --per-question FILE`, paired by question.

    python bench/compare_rows.py BEFORE.jsonl AFTER.jsonl [--show N]

For each system in both runs: the cited-answer and lead-sentence differences (after − before)
on the answerable questions, and the abstention differences, with paired bootstrap 95%
intervals; then how many questions lost or gained a cited answer, with the first N lost.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats import paired_difference


def load(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Rows by system, then by question id."""
    by: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    with path.open(encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            by[row["system"]][row["id"]] = row
    return by


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Lines of paired differences for one system."""
    answerable = [i for i in before if before[i]["in_corpus"] and i in after]
    others = [i for i in before if not before[i]["in_corpus"] and i in after]
    evidenced = [i for i in answerable if before[i].get("evidence")]

    def diff(ids: list[str], key: str) -> str:
        return str(
            paired_difference(
                [float(after[i][key]) for i in ids], [float(before[i][key]) for i in ids]
            )
        )

    return [
        f"  cited {diff(answerable, 'cited')}, lead {diff(evidenced, 'lead')}",
        f"  abstention {diff(others, 'abstained')}, false abstention {diff(answerable, 'abstained')}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--show", type=int, default=0)
    args = parser.parse_args()
    old, new = load(args.before), load(args.after)
    for system in [s for s in old if s in new and s != "plain"]:
        print(system)
        print("\n".join(compare(old[system], new[system])))
    if "newsdesk" in old and "newsdesk" in new:
        a, b = old["newsdesk"], new["newsdesk"]
        lost = [
            i for i in a if a[i]["in_corpus"] and a[i]["cited"] and i in b and not b[i]["cited"]
        ]
        won = [i for i in a if a[i]["in_corpus"] and not a[i]["cited"] and i in b and b[i]["cited"]]
        print(f"newsdesk: {len(lost)} lost a cited answer, {len(won)} gained one")
        for i in lost[: args.show]:
            print(f"  {a[i]['question'][:90]} | {a[i]['answer']}")


if __name__ == "__main__":
    main()
