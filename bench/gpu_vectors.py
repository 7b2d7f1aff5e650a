"""Document vectors for a large benchmark index, computed on a GPU machine, and its throughput.

    python bench/gpu_vectors.py export --articles FILE --work DIR     # here: texts and model
    python3 bench/gpu_vectors.py embed --work DIR --out DIR           # there: vectors, figures
    cp WORK/keys.txt OUT/                                               # here: keys, in order
    python -m bench realtimeqa ... --vectors OUT                        # here: index from them

`export` runs the ingest pipeline's own reading, cleaning and chunking over the articles and
writes each chunk's embedding text, cut just past the model's 256-token window (the model reads
no further, so the vector is the same), with the model's weights in float16 to fit the transfer.
`embed` runs Newsdesk's own sentence-transformers embedder on the GPU (`device="cuda"`), writes
the vectors in parts, and prints documents per second in float32 and float16 next to the CPU.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.vectors import text_key
from index.embedding import SentenceTransformerEmbedder, bundled_model_dir

WINDOW = 254  # content tokens MiniLM reads (256 with [CLS] and [SEP])
PART = 15_000  # vectors per file: 15,000 x 384 float16 is 11.5 MB, under the transfer's limit


def export(articles: Path, work: Path) -> None:
    """Embedding texts of every chunk (deduplicated), and a float16 copy of the model."""
    # Imported here: the GPU machine runs only `embed` and has none of the ingest's libraries.
    from tokenizers import Tokenizer

    from index.loading import SourceDoc, read_file
    from index.prepare import embedding_text, prepare
    from index.settings import IngestSettings

    work.mkdir(parents=True, exist_ok=True)
    model = bundled_model_dir()
    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    settings, seen = IngestSettings(), dict[str, None]()
    with lzma.open(work / "texts.jsonl.xz", "wt", encoding="utf-8") as out:
        for item in read_file(articles, articles.parent, settings.max_bytes):
            if not isinstance(item, SourceDoc):
                continue
            for chunk in prepare(item, None, "0" * 64, settings).chunks:
                text = embedding_text(chunk.text, chunk.info)
                key = text_key(text)
                if key not in seen:
                    seen[key] = None
                    out.write(json.dumps([key, window_text(tokenizer, text)]) + "\n")
    (work / "keys.txt").write_text("".join(f"{k}\n" for k in seen))
    _half_model(model, work / "model")
    print(f"{len(seen)} texts; {os.cpu_count()} cores here")


def window_text(tokenizer: object, text: str) -> str:
    """The text up to the first word break after the model's window (what the model reads)."""
    offsets = tokenizer.encode(text, add_special_tokens=False).offsets  # type: ignore[attr-defined]
    if len(offsets) <= WINDOW:
        return text
    end = offsets[WINDOW - 1][1]
    cut = text.find(" ", end)
    return text if cut < 0 else text[:cut]


def _half_model(model: Path, target: Path) -> None:
    from safetensors.numpy import load_file, save_file

    shutil.copytree(model, target, dirs_exist_ok=True)
    weights = load_file(str(model / "model.safetensors"))
    halved = {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in weights.items()}
    save_file(halved, str(target / "model.safetensors"))


def embed(work: Path, out: Path, device: str, batch: int) -> None:
    """Vectors of the exported texts in parts, and throughput in float32 and float16."""
    with lzma.open(work / "texts.jsonl.xz", "rt", encoding="utf-8") as handle:
        texts = [json.loads(line)[1] for line in handle]
    embedder = SentenceTransformerEmbedder(work / "model", batch, device)
    embedder.embed_documents(texts[:batch])  # load and warm up
    started = time.perf_counter()
    vectors = np.asarray(embedder.embed_documents(texts), dtype=np.float16)
    fp32 = len(texts) / (time.perf_counter() - started)
    for i in range(0, len(vectors), PART):
        np.save(out / f"vectors-{i // PART:02d}.npy", vectors[i : i + PART])
    # keys.txt stays here: `export` wrote it next to the texts, in the same order.
    figures = {"texts": len(texts), "device": embedder.device, "float32_docs_per_s": fp32}
    figures.update(_half_rate(embedder, texts[:5000]))
    (out / "figures.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


def _half_rate(embedder: SentenceTransformerEmbedder, texts: list[str]) -> dict[str, float]:
    import torch

    model = embedder._load()
    if embedder.device == "cpu":
        return {}
    model.half()
    started = time.perf_counter()
    embedder.embed_documents(texts)
    rate = len(texts) / (time.perf_counter() - started)
    return {"float16_docs_per_s": rate, "gpu": torch.cuda.get_device_name(0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    one = sub.add_parser("export")
    one.add_argument("--articles", type=Path, required=True)
    one.add_argument("--work", type=Path, required=True)
    two = sub.add_parser("embed")
    two.add_argument("--work", type=Path, required=True)
    two.add_argument("--out", type=Path, required=True)
    two.add_argument("--device", default="cuda")
    two.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    if args.step == "export":
        export(args.articles, args.work)
    else:
        embed(args.work, args.out, args.device, args.batch)


if __name__ == "__main__":
    main()
