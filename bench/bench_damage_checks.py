"""What the damage checks cost each time an index is opened.

    python bench/bench_damage_checks.py --data-dir DIR [--repeat 5]

DIR is an embedded Newsdesk index. Times `index.damage.vector_damage` (the structural check of
Chroma's vector files that runs before Chroma opens them) and the hashing of every keyword
segment file its manifest names (what opening a segment written with checksums verifies),
against opening the segments without it. Prints medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from index.damage import vector_damage
from index.keyword import segments
from index.keyword.files import FILES, checksum


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = next((args.data_dir / "keyword").glob("*/manifest.json")).parent
    names = json.loads((folder / "manifest.json").read_text())["segments"]
    size = sum(f.stat().st_size for n in names for f in (folder / n).iterdir())
    print(f"{len(names)} keyword segments, {size / 2**20:.0f} MiB")
    vectors = median_ms(lambda: vector_damage(args.data_dir / "chroma"), args.repeat)
    hashed = median_ms(
        lambda: [checksum(folder / n / f) for n in names for f in FILES], args.repeat
    )
    opened = median_ms(
        lambda: [segments.load(folder, n, verify=False).close() for n in names], args.repeat
    )
    print(f"vector files checked: median {vectors:.0f} ms")
    print(f"keyword segment files hashed: median {hashed:.0f} ms")
    print(f"keyword segments opened without checksums: median {opened:.0f} ms")


if __name__ == "__main__":
    main()
