"""Checkers for notebook 03's exercises (attention). The attention checker runs a freshly initialised
float64 model (random weights, larger than HF's initialisation so that the maps are not uniform) on a
padded batch with trace=True and compares the answer with the library's own probabilities and context
vectors; the entropy checker uses those probabilities too (padded keys give exact zeros). No trained model
is used."""
import numpy as np

import minialbert as ma

from . import solutions_03 as solutions
from .check import cmp, exercise


def _traced_layer(seed, B=2, T=6, H=16, NH=2):
    rng = np.random.default_rng(seed)
    cfg = ma.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=H, num_attention_heads=NH,
                          intermediate_size=2 * H, num_hidden_layers=1, max_position_embeddings=16,
                          initializer_range=0.5)
    model = ma.AlbertModel(cfg, seed=seed, dtype="float64")
    ids = rng.integers(5, 40, size=(B, T))
    mask = np.ones((B, T), dtype=np.int64)
    mask[0, T - 2:] = 0                                  # the first sentence is padded: 2 pieces
    model(ids, attention_mask=mask, trace=True)
    return model.trace, mask, NH


@exercise("03.attention", "attention(q, k, v, attention_mask) -> (probs, context)",
          solution=solutions.attention, wrong=solutions.WRONG_ATTENTION)
def attention(answer):
    verdicts = []
    for seed, NH in ((301, 2), (302, 4)):
        tr, mask, NH = _traced_layer(seed, NH=NH)
        q, k, v = (tr[f"layer.0.attention.{n}"] for n in "qkv")
        got = answer(q.copy(), k.copy(), v.copy(), mask.copy())
        probs, context = got if isinstance(got, tuple) and len(got) == 2 else (got, None)
        B, _, T, HS = q.shape
        merged = tr["layer.0.attention.context"].reshape(B, T, NH, HS).transpose(0, 2, 1, 3)
        verdicts += [cmp(f"probs, NH={NH}, padded batch", probs, tr["layer.0.attention.probs"], rtol=1e-10),
                     cmp(f"context, NH={NH}, padded batch", context, merged, rtol=1e-10)]
    return verdicts


@exercise("03.attention_entropy", "attention_entropy(probs) -> entropy per query, in nats",
          solution=solutions.attention_entropy, wrong=solutions.WRONG_ENTROPY)
def attention_entropy(answer):
    tr, mask, _ = _traced_layer(303)
    probs = tr["layer.0.attention.probs"]                 # exact zeros at the padded keys
    uniform = np.full((3, 5), 1 / 5)
    onehot = np.eye(4)[[0, 2, 3]]
    return [cmp("uniform over 5 keys (log 5 each)", answer(uniform.copy()), np.full(3, np.log(5))),
            cmp("one-hot rows (0 each)", answer(onehot.copy()), np.zeros(3)),
            cmp("a padded batch's maps (B, NH, T)", answer(probs.copy()), solutions.attention_entropy(probs))]


EXERCISES = [attention, attention_entropy]
