"""What every task pipeline shares: loading a model of the right head, micro-batching, padding,
one forward pass with numpy results, and the score functions."""
from __future__ import annotations

import warnings
from typing import Iterable, Iterator, List, Sequence, Tuple

from .. import backend
from ..hub import default_model_path, resolve
from ..tokenization import load_tokenizer

np = backend.numpy  # host side: token ids in, python floats out


class PipelineError(ValueError):
    """A bad argument or input of a pipeline (the CLI prints it as one line)."""


def is_path(x) -> bool:
    return isinstance(x, (str, bytes)) or hasattr(x, "__fspath__")


def check_vocab_sizes(model, tokenizer) -> None:
    """A tokenizer must not make ids the model has no embedding for. HF fails with an index error on the
    first such token (nearly every text, when the tokenizer is another model's): refuse at once, naming
    both sizes. A model vocabulary *larger* than the tokenizer's is tolerated, as HF does (models pad
    their embedding matrix to a round size), with a warning: ids from len(tokenizer) up have no token."""
    V = getattr(getattr(model, "config", None), "vocab_size", None)
    try:
        n = len(tokenizer)
    except TypeError:
        return
    if not isinstance(V, int) or n == V:
        return
    if n > V:
        raise PipelineError(f"the tokenizer has {n:,} tokens but the model's vocabulary has {V:,} "
                            f"(vocab_size in its config.json): ids {V:,} and up have no embedding; "
                            "is it the model's own tokenizer?")
    warnings.warn(f"the model's vocabulary ({V:,}) is larger than the tokenizer's ({n:,}): ids {n:,} and up "
                  "have no token (padding rows, as some models have); tolerated, as HF does", stacklevel=3)


def check_batch_size(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PipelineError(f"batch_size = {n!r}: expected an integer >= 1")
    return int(n)


def check_positive_int(name, n, allow_none=False):
    if n is None and allow_none:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PipelineError(f"{name} = {n!r}: expected an integer >= 1")
    return int(n)


def pipeline_device(device):
    """A pipeline's device as Hugging Face's pipeline takes it -> minialbert's device string: -1 -> 'cpu', an
    integer N >= 0 -> 'cuda:N', 'cpu' / 'cuda' / 'cuda:N' as they are; None stays None (a path loads on
    the CPU, a model object stays where it is). Anything else is a PipelineError naming the value."""
    if device is None:
        return None
    try:
        return backend.normalize_device(device)
    except ValueError as e:
        raise PipelineError(f"device={device!r}: {e}") from None


def place(model, device):
    """A model object given to a pipeline goes to the pipeline's device when one is given (in place, as
    HF's pipeline moves it); device None leaves it where it is."""
    if device is not None and device != model.device:
        model.to(device)
    return model


def load_for_task(model_class, task, name_or_path=None, tokenizer=None, device=None, dtype="float32",
                  default_ok=False):
    """(model, tokenizer) for a task: objects are used as they are (moved to `device` when it is given),
    paths / released names are loaded as `model_class` (a head of the wrong kind is an error) on `device`
    (default the CPU). device: 'cpu', 'cuda', 'cuda:N', or as HF: -1 (CPU), N (cuda:N)."""
    device = pipeline_device(device)
    if is_path(tokenizer):
        tokenizer = load_tokenizer(tokenizer)
    if name_or_path is None and not default_ok:
        raise PipelineError(f"{task} needs a model with its head ({model_class.__name__}): pass model=PATH "
                            f"(e.g. one saved by `minialbert finetune`)")
    if name_or_path is None or is_path(name_or_path):
        path = default_model_path() if name_or_path is None else resolve(name_or_path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = model_class.from_pretrained(path, device=device or "cpu", dtype=dtype)
        heads = [n for n, _, _ in model.head_specs()] if hasattr(model, "head_specs") else []
        for w in caught:
            msg = str(w.message)
            missing = [h for h in heads if "newly initialised" in msg and h in msg]
            if missing:   # a random head would give random answers: refuse, rather than warn as HF does
                raise PipelineError(f"{task}: {path} has no trained {model_class.__name__} head "
                                    f"({', '.join(missing)} not in the checkpoint); is it the right model?")
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if tokenizer is None:
            tokenizer = load_tokenizer(path)
        check_vocab_sizes(model, tokenizer)
        return model, tokenizer
    if tokenizer is None:
        raise PipelineError("pass a tokenizer along with a model object")
    if not isinstance(name_or_path, model_class):
        raise PipelineError(f"{task} needs a {model_class.__name__}, got a {type(name_or_path).__name__}")
    check_vocab_sizes(name_or_path, tokenizer)
    return place(name_or_path, device), tokenizer


def micro_batches(items: Iterable, n: int) -> Iterator[list]:
    chunk = []
    for x in items:
        chunk.append(x)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def pad(rows: Sequence[Tuple[List[int], List[int]]], pad_id: int):
    """[(input_ids, token_type_ids)] -> ids, attention mask, token types, each (B, T) int64, right-padded."""
    T = max(len(r[0]) for r in rows)
    ids = np.full((len(rows), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), T), dtype=np.int64)
    types = np.zeros((len(rows), T), dtype=np.int64)
    for i, (r, t) in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
        types[i, :len(t)] = t
    return ids, mask, types


def forward(model, rows, pad_id, keys):
    """One forward pass over padded rows; the outputs named in `keys` as host numpy arrays."""
    ids, mask, types = pad(rows, pad_id)
    try:
        out = model(ids, attention_mask=mask, token_type_ids=types)
        return [backend.to_numpy(out[k]) for k in keys]
    finally:
        model.forget_cache()


def check_length(n, limit, what="text"):
    if n > limit:
        raise PipelineError(f"{what} is {n} tokens long after tokenisation, but this model takes at most "
                            f"{limit} (max_position_embeddings); shorten it or pass truncation=True (--truncate)")


def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def label_of(config, i: int) -> str:
    """config.id2label[i], else HF's default name LABEL_i."""
    return (config.id2label or {}).get(int(i), f"LABEL_{int(i)}")
