"""Export a trained reader (bench/train_reader.py) to the ONNX files Newsdesk ships.

    python -m bench.export_reader WEIGHTS.pt OUT_DIR --threshold T

Writes `model.onnx` (dynamic int8), `tokenizer.json` and `card.json` to OUT_DIR.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any


class _Scorer:
    """Encoder + mean pooling + head as one module with ONNX-friendly inputs."""

    def __new__(cls, encoder: Any, head: Any) -> Any:
        import torch

        class Scorer(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder, self.head = encoder, head

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.encoder(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                return self.head(pooled).squeeze(-1)

        return Scorer().eval()


def keep_layers(encoder: Any, layers: int) -> None:
    """Keep the encoder's first `layers` transformer layers (all when it has no more): a
    shallower reader costs less per candidate."""
    if 0 < layers < len(encoder.encoder.layer):
        encoder.encoder.layer = encoder.encoder.layer[:layers]
        encoder.config.num_hidden_layers = layers


def load_torch(weights: Path) -> Any:
    """The trained reader as a PyTorch module (for export, and to check ONNX against)."""
    import torch
    from transformers import AutoModel

    from index.embedding import bundled_model_dir

    saved = torch.load(weights, weights_only=False)
    encoder = AutoModel.from_pretrained(str(bundled_model_dir()))
    layers = {k.split(".")[2] for k in saved["encoder"] if k.startswith("encoder.layer.")}
    keep_layers(encoder, len(layers))
    encoder.load_state_dict(saved["encoder"])
    head = torch.nn.Linear(encoder.config.hidden_size, 1)
    head.load_state_dict(saved["head"])
    return _Scorer(encoder, head)


def export(weights: Path, out: Path, threshold: float, card: dict[str, Any]) -> None:
    """Write the int8 ONNX model, its tokenizer and its card to `out`."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from index.embedding import bundled_model_dir

    module = load_torch(weights)
    out.mkdir(parents=True, exist_ok=True)
    dummy = torch.ones((2, 16), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "model-fp32.onnx"
        torch.onnx.export(
            module,
            (dummy, dummy, torch.zeros_like(dummy)),
            str(full),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["score"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes},
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(str(full), str(out / "model.onnx"), weight_type=QuantType.QInt8)
    shutil.copy(bundled_model_dir() / "tokenizer.json", out / "tokenizer.json")
    (out / "card.json").write_text(json.dumps({**card, "threshold": threshold}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--threshold", type=float, required=True)
    args = parser.parse_args()
    export(args.weights, args.out, args.threshold, {"exported_from": str(args.weights)})


if __name__ == "__main__":
    main()
