"""Fill-mask: text with [MASK] -> the most likely tokens, as HF's pipeline returns them.

    >>> fill = minialbert.pipeline("fill-mask", model="albert-base-v2")
    >>> fill("Hello I'm a [MASK] model.", top_k=3)
    [{'score': ..., 'token': 12807, 'token_str': 'modeling', 'sequence': "hello i'm a modeling model."}, ...]

One [MASK]: a list of {score, token, token_str, sequence}. Several [MASK]s in a
text: one such list per mask. Several texts: one result per text.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

from . import backend
from .hub import default_model_path, resolve
from .model import AlbertForMaskedLM
from .tokenization import load_tokenizer

np = backend.numpy  # host side: token ids in, python floats out


class FillMaskError(ValueError):
    pass


class FillMaskPipeline:
    def __init__(self, model, tokenizer, top_k: int = 5):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.top_k = top_k

    def _encode(self, texts: List[str], truncate: bool):
        tok, limit = self.tokenizer, self.model.config.max_position_embeddings
        rows = []
        for text in texts:
            ids = tok(text)["input_ids"]
            if len(ids) > limit:
                if not truncate:
                    raise FillMaskError(f"text is {len(ids)} tokens long after tokenisation, but this model "
                                        f"takes at most {limit} (max_position_embeddings); shorten it or "
                                        f"pass truncate=True (--truncate)")
                ids = ids[:limit - 1] + [tok.sep_token_id]
            if tok.mask_token_id not in ids:
                raise FillMaskError(f"no {tok.mask_token} in the text{' (after truncation)' if truncate else ''}: "
                                    f"{text[:80]!r}")
            rows.append(ids)
        T = max(len(r) for r in rows)
        ids = np.full((len(rows), T), tok.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(rows), T), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = r
            mask[i, :len(r)] = 1
        return ids, mask

    def __call__(self, texts: Union[str, Sequence[str]], top_k: Optional[int] = None, truncate: bool = False):
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        if not texts:
            return []
        k = top_k or self.top_k
        tok = self.tokenizer
        ids, mask = self._encode(texts, truncate)
        logits = self.model(ids, attention_mask=mask)["logits"]                 # (B, T, V)
        results = []
        for b in range(len(texts)):
            row = ids[b][mask[b] == 1]
            positions = np.nonzero(row == tok.mask_token_id)[0]
            per_mask = []
            for pos in positions:
                z = backend.to_numpy(logits[b, pos]).astype(np.float64)       # softmax in float64: exact ranks
                p = np.exp(z - z.max())
                p /= p.sum()
                top = np.argsort(-p, kind="stable")[:k]
                preds = []
                for t in top:
                    filled = row.copy()
                    filled[pos] = t
                    # As HF: with one mask the sequence drops special tokens; with several it keeps them.
                    seq = tok.decode(filled.tolist(), skip_special_tokens=len(positions) == 1)
                    preds.append({"score": float(p[t]), "token": int(t),
                                  "token_str": tok.decode([int(t)]), "sequence": seq})
                per_mask.append(preds)
            results.append(per_mask[0] if len(per_mask) == 1 else per_mask)
        return results[0] if single else results


def load_model_and_tokenizer(name_or_path=None, device="cpu", dtype="float32", tokenizer=None):
    """A masked-LM model and its tokenizer (unless given) from a path, a released
    name, or the bundled default."""
    path = default_model_path() if name_or_path is None else resolve(name_or_path)
    model = AlbertForMaskedLM.from_pretrained(path, device=device, dtype=dtype)
    return model, tokenizer if tokenizer is not None else load_tokenizer(path)


def _is_path(x) -> bool:
    return isinstance(x, (str, bytes)) or hasattr(x, "__fspath__")


def pipeline(task: str, model=None, tokenizer=None, device: str = "cpu", top_k: int = 5, dtype="float32"):
    """model and tokenizer: objects, or paths / released names (as HF's pipeline takes them)."""
    if task != "fill-mask":
        raise ValueError(f"unknown task {task!r}; minialbert's pipeline does 'fill-mask'")
    if _is_path(tokenizer):
        tokenizer = load_tokenizer(tokenizer)
    if model is None or _is_path(model):
        model, tokenizer = load_model_and_tokenizer(model, device=device, dtype=dtype, tokenizer=tokenizer)
    elif tokenizer is None:
        raise ValueError("pass a tokenizer along with a model object")
    return FillMaskPipeline(model, tokenizer, top_k=top_k)
