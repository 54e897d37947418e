"""Checkers for notebook 02's exercises (cross-layer sharing). The references are the library's own:
AlbertConfig.group_of_layer (HF's rule) and ma.count_parameters (the shapes the library would allocate).
No trained model is used."""
import numpy as np

import minialbert as ma

from . import solutions_02 as solutions
from .check import cmp, exercise, fact


@exercise("02.group_of_layer", "group_of_layer(i, L, G): which stored group layer position i runs",
          solution=solutions.group_of_layer, wrong=solutions.WRONG_GROUP)
def group_of_layer(answer):
    verdicts = []
    for L, G in ((12, 1), (12, 3), (12, 5), (7, 3), (5, 2), (24, 7)):
        cfg = ma.AlbertConfig(num_hidden_layers=L, num_hidden_groups=G, hidden_size=8, num_attention_heads=1)
        ref = [cfg.group_of_layer(i) for i in range(L)]
        got = [answer(i, L, G) for i in range(L)]
        try:
            ok = [int(g) for g in got] == ref
        except (TypeError, ValueError):
            ok = False
        verdicts.append(fact(f"L={L:>2d} G={G}", ok, f"library {' '.join(map(str, ref))}" +
                             ("" if ok else f" | yours {' '.join(map(str, got))}")))
    return verdicts


@exercise("02.albert_parameters", "albert_parameters(V, E, H, I, L, share_type): predict the count",
          solution=solutions.albert_parameters, wrong=solutions.WRONG_PARAMETERS)
def albert_parameters(answer):
    verdicts = []
    for V, E, H, I, L in ((30000, 256, 768, 3072, 12), (30000, 128, 1024, 4096, 24), (50, 8, 32, 64, 3)):
        for share in ("all", "attention", "ffn", "none"):
            cfg = ma.AlbertConfig(vocab_size=V, embedding_size=E, hidden_size=H, intermediate_size=I,
                                  num_hidden_layers=L, num_attention_heads=4, share_type=share)
            ref = ma.count_parameters(cfg)
            got = answer(V, E, H, I, L, share)
            verdicts.append(cmp(f"E={E:>3d} H={H:>4d} L={L:>2d} {share:<9s}",
                                None if got is None else float(got), float(ref), rtol=0.0))
    return verdicts


EXERCISES = [group_of_layer, albert_parameters]
