"""A synthetic probe of whether attention can learn to read a neighbour (weights/README.md).

Random tokens; the label at every position but the first is the previous token, so only attention to
position i-1 (through the learned position embeddings) can beat chance. Prints loss and accuracy.

    python3 scripts/plateau_probe.py --init 0.02            # not learnt in 600 steps (HF's initializer_range)
    python3 scripts/plateau_probe.py --init 0.05            # learnt (accuracy 1.0) by step 400
    python3 scripts/plateau_probe.py --init 0.05 --vocab 30000
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minialbert as ma  # noqa: E402
from minialbert.optim import AdamW, clip_grad_norm, warmup_linear_decay  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", type=float, default=0.02, help="initializer_range")
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--ln-type", default="postln", choices=["postln", "preln"])
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=32)
    a = ap.parse_args(argv)
    cfg = ma.AlbertConfig(vocab_size=a.vocab, embedding_size=32, hidden_size=64, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=128, max_position_embeddings=64,
                          ln_type=a.ln_type, initializer_range=a.init, hidden_dropout_prob=0.0,
                          attention_probs_dropout_prob=0.0)
    model = ma.AlbertForMaskedLM(cfg, seed=0).train()
    opt = AdamW(model.params, lr=a.lr, weight_decay=0.0)
    rng = np.random.default_rng(0)
    for step in range(a.steps):
        ids = rng.integers(5, a.vocab, size=(a.batch_size, a.seq_len))     # (B, T), no special tokens
        labels = np.full(ids.shape, -100)
        labels[:, 1:] = ids[:, :-1]                                         # the previous token
        model.zero_grad()
        out = model(ids, labels=labels)
        model.backward()
        clip_grad_norm(model.grads(), 1.0)
        opt.step(model.grads(), lr=warmup_linear_decay(step, a.steps, 30, a.lr, decay_after_warmup=True))
        if step % 100 == 0 or step == a.steps - 1:
            sel = labels != -100
            acc = float((np.asarray(out["logits"]).argmax(-1)[sel] == labels[sel]).mean())
            print(f"step {step:4d}  loss {float(out['loss']):.3f}  accuracy {acc:.3f}  (chance {1 / (a.vocab - 5):.3f})")


if __name__ == "__main__":
    main()
