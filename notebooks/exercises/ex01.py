"""Checkers for notebook 01's exercises (tokenizer and factorised embeddings). The references are the
library's own: parameter counts from the shapes it allocates (minialbert.model.backbone_specs, what
ma.count_parameters adds up), activations from a freshly initialised float64 model run with trace=True.
No trained model is used, so the checks do not depend on any checkpoint."""
import numpy as np

import minialbert as ma
from minialbert.model import backbone_specs

from . import solutions_01 as solutions
from .check import cmp, exercise

FACTORISED = ("embeddings.word_embeddings.weight", "encoder.embedding_hidden_mapping_in.")


@exercise("01.embedding_parameters", "embedding_parameters(V, E, H): the factorised embedding's size",
          solution=solutions.embedding_parameters, wrong=solutions.WRONG_EMBEDDING_PARAMETERS)
def embedding_parameters(answer):
    verdicts = []
    for V, E, H in ((30000, 128, 768), (30000, 64, 4096), (50, 8, 32), (21128, 128, 312)):
        cfg = ma.AlbertConfig(vocab_size=V, embedding_size=E, hidden_size=H, num_attention_heads=4,
                              intermediate_size=4 * H, num_hidden_layers=1)
        ref = sum(int(np.prod(shape)) for name, shape, _ in backbone_specs(cfg, "", False)
                  if name.startswith(FACTORISED))
        got = answer(V, E, H)
        verdicts.append(cmp(f"V={V} E={E} H={H}", None if got is None else float(got),
                            float(ref), rtol=0.0))
    return verdicts


@exercise("01.embed", "embed(ids, token_type_ids, P, eps): word + type + position, LayerNorm, E→H",
          solution=solutions.embed, wrong=solutions.WRONG_EMBED)
def embed(answer):
    rng = np.random.default_rng(101)
    verdicts = []
    for B, T, V, E, H in ((2, 7, 50, 8, 32), (3, 5, 40, 6, 12)):
        cfg = ma.AlbertConfig(vocab_size=V, embedding_size=E, hidden_size=H, num_attention_heads=2,
                              intermediate_size=2 * H, num_hidden_layers=1, max_position_embeddings=16)
        model = ma.AlbertModel(cfg, seed=int(rng.integers(1000)), dtype="float64")
        for name in ("embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
                     "encoder.embedding_hidden_mapping_in.bias"):           # not the trivial initial values
            model.params[name][...] = rng.normal(size=model.params[name].shape) * 0.5 + (name.endswith("weight"))
        ids = rng.integers(5, V, size=(B, T))
        tti = (np.arange(T)[None, :] >= rng.integers(1, T, size=(B, 1))).astype(np.int64)   # segment B at the end
        model(ids, token_type_ids=tti, trace=True)
        P = {k: np.array(v, copy=True) for k, v in model.params.items()}
        got = answer(ids.copy(), tti.copy(), P, cfg.layer_norm_eps)
        verdicts.append(cmp(f"(B, T, H) = {(B, T, H)} vs the library's trace", got,
                            model.trace["encoder.mapped"], rtol=1e-10))
    return verdicts


EXERCISES = [embedding_parameters, embed]
