"""Reference solutions to notebook 02's exercises (cross-layer sharing), and the plausible wrong answers
that tests/test_exercises.py proves the checkers (ex02.py) reject.

Try the exercises in the notebook before reading this file.
"""


# ----------------------------------------------------------------------------- reference solutions

def group_of_layer(i, L, G):
    """Which stored group layer position i (0-based) runs, with L positions and G groups: HF's rule."""
    return int(i / (L / G))


def albert_parameters(V, E, H, I, L, share_type):
    """Backbone parameters (HF's structure: the E→H projection always, the pooler included) of an ALBERT
    with one group and one inner layer, 512 positions and 2 token types, for share_type 'all',
    'attention', 'ffn' or 'none'."""
    embeddings = V * E + 512 * E + 2 * E + 2 * E           # word, position, token-type rows, LayerNorm
    mapping = E * H + H
    attention = 4 * (H * H + H) + 2 * H                    # Q, K, V, output dense; its LayerNorm
    ffn = (I * H + I) + (H * I + H) + 2 * H                # H→I, I→H; the full-layer LayerNorm
    pooler = H * H + H
    n_attention = 1 if share_type in ("all", "attention") else L   # a shared half is stored once
    n_ffn = 1 if share_type in ("all", "ffn") else L
    return embeddings + mapping + n_attention * attention + n_ffn * ffn + pooler


# ----------------------------------------------------------------------------- plausible wrong answers

def _group_floor_division(i, L, G):
    return i // (L // G)                                   # L // G rounds L/G down first: a group too many


def _group_round_robin(i, L, G):
    return i % G                                           # interleaved, not consecutive blocks


def _group_rounded(i, L, G):
    return min(round(i * G / L), G - 1)                    # rounds instead of truncating


def _params_swapped_halves(V, E, H, I, L, share_type):
    swap = {"attention": "ffn", "ffn": "attention"}.get(share_type, share_type)
    return albert_parameters(V, E, H, I, L, swap)          # shares the other half


def _params_no_layernorms(V, E, H, I, L, share_type):
    n_attention = 1 if share_type in ("all", "attention") else L
    n_ffn = 1 if share_type in ("all", "ffn") else L
    return albert_parameters(V, E, H, I, L, share_type) - (n_attention + n_ffn) * 2 * H - 2 * E


def _params_no_pooler(V, E, H, I, L, share_type):
    return albert_parameters(V, E, H, I, L, share_type) - (H * H + H)


WRONG_GROUP = {
    "i // (L // G)": _group_floor_division,
    "i % G (round robin)": _group_round_robin,
    "round(i * G / L)": _group_rounded,
}
WRONG_PARAMETERS = {
    "shares the other half (attention for 'ffn')": _params_swapped_halves,
    "forgets the layer norms": _params_no_layernorms,
    "forgets the pooler": _params_no_pooler,
}
