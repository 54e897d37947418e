"""Reference solutions to notebook 01's exercises (tokenizer and factorised embeddings), and the plausible
wrong answers that tests/test_exercises.py proves the checkers (ex01.py) reject.

Try the exercises in the notebook before reading this file.
"""
import numpy as np


# ----------------------------------------------------------------------------- reference solutions

def embedding_parameters(V, E, H):
    """Parameters of ALBERT's factorised word embedding: the V×E table plus the E→H projection
    (an (H, E) weight and an H bias)."""
    return V * E + E * H + H


def embed(ids, token_type_ids, P, eps):
    """The embedding block and the projection by hand: word + token-type + position rows (width E),
    LayerNorm over E, then the E→H linear map. ids, token_type_ids (B, T); P: the model's parameters by
    HF name (AlbertModel, no prefix); returns (B, T, H)."""
    T = ids.shape[1]
    x = (P["embeddings.word_embeddings.weight"][ids]
         + P["embeddings.token_type_embeddings.weight"][token_type_ids]
         + P["embeddings.position_embeddings.weight"][:T])
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    x = (x - mu) / np.sqrt(var + eps) * P["embeddings.LayerNorm.weight"] + P["embeddings.LayerNorm.bias"]
    W, b = P["encoder.embedding_hidden_mapping_in.weight"], P["encoder.embedding_hidden_mapping_in.bias"]
    return x @ W.T + b                                     # W is (H, E): HF's (out, in) layout


# ----------------------------------------------------------------------------- plausible wrong answers

def _count_unfactorised(V, E, H):
    return V * H                                           # BERT's table, as if E were H


def _count_forgets_bias(V, E, H):
    return V * E + E * H                                   # the projection's bias is a parameter too


def _count_table_only(V, E, H):
    return V * E                                           # the projection is part of the factorisation


def _embed_without_position(ids, token_type_ids, P, eps):
    P = dict(P)
    P["embeddings.position_embeddings.weight"] = np.zeros_like(P["embeddings.position_embeddings.weight"])
    return embed(ids, token_type_ids, P, eps)              # forgot the position rows


def _embed_projects_before_layernorm(ids, token_type_ids, P, eps):
    T = ids.shape[1]
    x = (P["embeddings.word_embeddings.weight"][ids]
         + P["embeddings.token_type_embeddings.weight"][token_type_ids]
         + P["embeddings.position_embeddings.weight"][:T])
    W, b = P["encoder.embedding_hidden_mapping_in.weight"], P["encoder.embedding_hidden_mapping_in.bias"]
    h = x @ W.T + b                                        # E→H first, then a LayerNorm over H:
    mu = h.mean(axis=-1, keepdims=True)                    # the order is LayerNorm (width E), then E→H
    return (h - mu) / np.sqrt(((h - mu) ** 2).mean(axis=-1, keepdims=True) + eps)


def _embed_positions_from_one(ids, token_type_ids, P, eps):
    P = dict(P)
    P["embeddings.position_embeddings.weight"] = P["embeddings.position_embeddings.weight"][1:]
    return embed(ids, token_type_ids, P, eps)              # position ids start at 0, not 1


def _embed_ignores_token_types(ids, token_type_ids, P, eps):
    return embed(ids, np.zeros_like(token_type_ids), P, eps)   # every piece read as segment A


WRONG_EMBEDDING_PARAMETERS = {
    "V·H, the unfactorised table": _count_unfactorised,
    "forgets the projection's bias": _count_forgets_bias,
    "counts the V×E table only": _count_table_only,
}
WRONG_EMBED = {
    "forgets the position embeddings": _embed_without_position,
    "projects E→H before the LayerNorm": _embed_projects_before_layernorm,
    "position ids start at 1": _embed_positions_from_one,
    "ignores the token types": _embed_ignores_token_types,
}
