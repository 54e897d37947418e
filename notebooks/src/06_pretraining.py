# %% [markdown]
# # 06 · Pretraining: n-gram masking, sentence order, and a first training run
#
# ALBERT learns from raw text with two self-made tasks (paper §4.1, with SOP from §3.1): **masked LM**,
# where about 15 % of the pieces are hidden and must be guessed, hidden as *whole words* in runs of up to
# three words (an n-gram, n drawn with p(n) ∝ 1/n); and **sentence-order prediction (SOP)**, where two
# consecutive stretches of a document are shown in or out of order and the model says which. This notebook
# runs the library's data pipeline (`minialbert.training`) on real text, checks its statistics
# against the recipe, then trains a tiny model for a few dozen steps with `minialbert.training.pretrain`.
#
# **What you will learn**
#
# - how whole-word n-gram masking chooses what to predict, and the 80/10/10 rule for what the model sees;
# - whether the pipeline's statistics follow the recipe on real text;
# - how a sentence-order (SOP) example is built, and how it differs from BERT's next-sentence (NSP) one;
# - what the first steps of an MLM + SOP run look like, and how to read a long one (the bundled model's).
#
# **Model**: section 6 trains a tiny model in the notebook; section 7 reads the bundled `minialbert-default`'s
# own run (E = 128 < H = 256, one post-LN layer applied 6 times, trained on English).
#
# Two exercises at the end: build an SOP example from two segments, and write the 80/10/10 rule.

# %%
import json
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minialbert as ma
from minialbert import parity
from minialbert.hub import default_model_path
from minialbert.ops.losses import IGNORE_INDEX
from minialbert.training import (PretrainingDataConfig, iter_examples, mask_tokens, prediction_budget,
                                 vocab_info, word_units)
from minialbert.training.examples import tokenize_line
from minialbert.training.pretrain import TrainConfig, pretrain

import nbhelpers                                  # notebooks/nbhelpers.py: the long drawing code
from exercises import check, ex06, solutions_06 as solutions

parity.use_fixtures(Path.cwd().resolve().parent / "tests" / "fixtures" / "hf")   # notebooks/ is in the repository

t_start = time.perf_counter()
MODEL_DIR = default_model_path()                     # minialbert/bundled/minialbert-default
TEXT = MODEL_DIR / "heldout-pydocs.txt"               # held-out Python documentation, one paragraph a line
tok = ma.load_tokenizer(MODEL_DIR)                    # official 30k SentencePiece vocabulary
vocab = vocab_info(tok)                               # per-id tables: special?, starts a word?
lines = [l.strip() for l in TEXT.read_text(encoding="utf-8").splitlines() if l.strip()]
print(f"{MODEL_DIR.name}/{TEXT.name}: {len(lines)} paragraphs; V = {vocab.vocab_size}, "
      f"{int(vocab.word_start.sum())} pieces start a word, {int(vocab.special.sum())} are special")

# %% [markdown]
# ## 1. Whole words, then n-grams
#
# SentencePiece cuts rare words into several pieces. Masking single pieces would make the task too easy
# (`▁call` + `[MASK]` is nearly always `able`), so the pipeline first groups pieces into whole-word *units*
# (`word_units`: a word-start piece plus the continuation pieces after it) and masks units, never half a
# word. One paragraph of the held-out text, wrapped as `[CLS] … [SEP]`:

# %%
T = 128
cfg = PretrainingDataConfig(max_seq_length=T)         # the recipe: 15 %, n <= 3, p(n) ∝ 1/n, 80/10/10
# the first paragraph of 100+ pieces that fits in T (or else the longest that fits)
para = max((l for l in lines if len(tokenize_line(tok, l)) <= T - 2), key=lambda l: min(len(tokenize_line(tok, l)), 100))
ids = np.array([vocab.cls_id, *tokenize_line(tok, para), vocab.sep_id])        # (T_para,)
pieces = tok.convert_ids_to_tokens(ids.tolist())
starts, lengths = word_units(ids, vocab)                                       # (U,), (U,)
print(textwrap.fill(para, 110), "\n")
print(f"{len(ids)} pieces ([CLS]/[SEP] included) in {len(starts)} whole-word units; "
      f"{int((lengths > 1).sum())} units span several pieces, e.g.:")
multi = [" + ".join(pieces[s:s + n]) for s, n in zip(starts, lengths) if n > 1]
print("   " + " | ".join(multi[:8]))

# %% [markdown]
# ## 2. Masking one paragraph
#
# `mask_tokens` picks spans of 1–3 units in random order until the prediction budget
# (`prediction_budget`: 15 % of the non-special pieces, rounded) is used up, then treats every chosen piece
# on its own: 80 % become `[MASK]`, 10 % a random piece, 10 % stay as they are. The labels keep the original
# id at the chosen positions (−100 elsewhere): the loss is computed only there, and the "kept" 10 % force
# the model to check even the pieces it can see.
#
# Below: what the model is fed. Boxes mark the chosen pieces and what became of them; the line under a box
# group marks one n-gram span (its colour gives n).

# %%
# With ~16 chosen pieces a draw often has no "random" or no "kept" piece at all; for the picture, take the
# first seed whose draw shows all three outcomes (section 3 measures the real shares on a large sample).
for seed in range(100):
    masked, labels, spans = mask_tokens(ids, vocab, cfg, np.random.default_rng(seed))
    chosen = labels != IGNORE_INDEX
    if {"mask", "random", "kept"} <= set(np.where(masked[chosen] == vocab.mask_id, "mask",
                                                  np.where(masked[chosen] == ids[chosen], "kept", "random"))):
        break
print(f"seed {seed}")
# every labelled piece belongs to a chosen span, and nothing else changed
span_pos = np.zeros(len(ids), bool)
for a, b in spans:
    span_pos[starts[a]:starts[b - 1] + lengths[b - 1]] = True
assert np.array_equal(span_pos, chosen) and np.array_equal(masked[~chosen], ids[~chosen])
budget = prediction_budget(int((~vocab.special[ids]).sum()), cfg)
outcome = np.where(~chosen, "", np.where(masked == vocab.mask_id, "mask", np.where(masked == ids, "kept", "random")))
print(f"budget {budget} pieces; chose {int(chosen.sum())} pieces in {len(spans)} spans of n = "
      f"{[b - a for a, b in spans]} words; outcomes: " +
      ", ".join(f"{k} {int((outcome == k).sum())}" for k in ("mask", "random", "kept")))

piece_spans = [(starts[a], starts[b - 1] + lengths[b - 1] - 1, b - a) for a, b in spans]   # first, last piece, n
fig = nbhelpers.draw_masked_paragraph(pieces, tok.convert_ids_to_tokens(masked.tolist()), vocab.special[ids],
                                      outcome, piece_spans,
                                      title=f"What the model sees: one held-out paragraph after n-gram masking "
                                            f"(T = {len(ids)} pieces, budget {budget}, seed {seed})")
plt.show()

print(f"{'span':>4} {'n':>2}  {'original words':<30} -> what the model sees")
for k, (a, b) in enumerate(spans):
    p0, p1 = starts[a], starts[b - 1] + lengths[b - 1]
    orig = tok.convert_tokens_to_string(pieces[p0:p1]).strip()
    seen = " ".join(tok.convert_ids_to_tokens(masked[p0:p1].tolist()))
    print(f"{k:>4} {b - a:>2}  {orig[:30]:<30} -> {seen}")

# %% [markdown]
# ## 3. Do the statistics follow the recipe?
#
# One paragraph is a small sample. Here the whole held-out text is cut into sequences of T = 128 pieces and
# masked several times with fresh random draws. Three things are checked, each within 4 binomial standard
# errors (a chance failure rate of about 6e-5 per check; the seed makes the notebook deterministic anyway):
#
# * about 15 % of the non-special pieces are predicted;
# * of those, 80 % / 10 % / 10 % become `[MASK]` / a random piece / stay;
# * the n-gram length follows p(n) = (1/n) / (1 + 1/2 + 1/3) = 6/11, 3/11, 2/11 — for the **first** span of
#   each sequence. Later spans are shorter on average: a long span that would overlap an earlier one is
#   dropped, and one that would overrun the remaining budget is shortened, so short spans win the leftovers.
#   (As `mask_tokens` does, the first-span tally skips sequences where the span could be cut by the end of
#   the sequence or by the budget.)

# %%
flat = [i for l in lines for i in tokenize_line(tok, l)]
n_body = T - 2
seqs = [np.array([vocab.cls_id, *flat[i:i + n_body], vocab.sep_id]) for i in range(0, len(flat) - n_body, n_body)]
rng = np.random.default_rng(0)
first, overall = np.zeros(cfg.max_ngram + 1, int), np.zeros(cfg.max_ngram + 1, int)
n_tok = n_pred = n_mask = n_kept = 0
REPEATS = 8
for _ in range(REPEATS):
    for s in seqs:
        m, lab, sp = mask_tokens(s, vocab, cfg, rng)
        st, ln = word_units(s, vocab)
        for a, b in sp:
            overall[b - a] += 1
        a, b = sp[0]
        window = np.convolve(ln, np.ones(cfg.max_ngram, int), "valid").max()   # widest 3-word span, pieces
        if a <= len(st) - cfg.max_ngram and window <= prediction_budget(int(ln.sum()), cfg):
            first[b - a] += 1
        sel = lab != IGNORE_INDEX
        n_tok += int((~vocab.special[s]).sum())
        n_pred += int(sel.sum())
        n_mask += int((m[sel] == vocab.mask_id).sum())
        n_kept += int((m[sel] == s[sel]).sum())
n_rand = n_pred - n_mask - n_kept


def check_stat(name, got, want, n):
    tol = 4 * np.sqrt(want * (1 - want) / n)
    ok = abs(got - want) <= tol
    print(f"  {name:<28} {got:.4f}  expected {want:.4f} ± {tol:.4f} (4 s.e., N = {n:,})  {'ok' if ok else 'FAIL'}")
    assert ok, name


p = cfg.ngram_probabilities()                                  # (6/11, 3/11, 2/11)
assert np.allclose(p, [6 / 11, 3 / 11, 2 / 11])
print(f"{len(seqs)} sequences x {REPEATS} draws:")
# the budget is rounded per sequence, which may move the share by up to 0.5 piece per sequence
rounding = 0.5 * len(seqs) * REPEATS / n_tok
check_stat("predicted share of pieces", n_pred / n_tok, 0.15, n_tok)
assert abs(n_pred / n_tok - 0.15) <= 4 * np.sqrt(0.15 * 0.85 / n_tok) + rounding
check_stat("-> [MASK]", n_mask / n_pred, 0.8, n_pred)
check_stat("-> random piece", n_rand / n_pred, 0.1, n_pred)
check_stat("-> kept", n_kept / n_pred, 0.1, n_pred)
m_first = int(first.sum())
for n_ in range(1, cfg.max_ngram + 1):
    check_stat(f"first span has n = {n_}", first[n_] / m_first, p[n_ - 1], m_first)
share_all = overall[1:] / overall.sum()
assert share_all[0] >= p[0] and share_all[0] > share_all[1] > share_all[2]   # later spans: shorter on average
print(f"  all spans: n = 1, 2, 3 shares {np.round(share_all, 3).tolist()} (shorter on average, as explained)")

fig = nbhelpers.plot_ngram_shares(p, first[1:] / m_first, share_all, m_first, int(overall.sum()),
                                  tolerance=4 * np.sqrt(p * (1 - p) / m_first))
plt.show()

# %% [markdown]
# ## 4. A sentence-order pair
#
# For SOP an example is `[CLS] A [SEP] B [SEP]`, where A and B are consecutive stretches of one document
# (cut at a paragraph boundary, or inside a paragraph when the chunk has only one). Half the time they are
# swapped and `sentence_order_label` is 1. Unlike BERT's next-sentence task, B always comes from the same
# document, so topic alone cannot give the answer; only the order can. `token_type_ids` tell the model which
# segment a piece is in. Masking is switched off here so the text reads easily.

# %%
sop_cfg = PretrainingDataConfig(max_seq_length=64, masked_lm_prob=0.0)
examples = iter_examples(str(TEXT), tok, sop_cfg, seed=1)
shown = set()
for ex in examples:
    label = ex["sentence_order_label"]
    if label in shown:
        continue
    shown.add(label)
    n = int(ex["attention_mask"].sum())
    seg = ex["token_type_ids"][:n]
    ids_ex = ex["input_ids"][:n]
    a_txt = tok.decode(ids_ex[(seg == 0)][1:-1].tolist())                   # drop [CLS] and the first [SEP]
    b_txt = tok.decode(ids_ex[(seg == 1)][:-1].tolist())                    # drop the last [SEP]
    print(f"sentence_order_label = {label} ({'swapped: B comes first in the document' if label else 'original order'})")
    print(f"  token_type_ids: {''.join(map(str, seg.tolist()))}")
    print(f"  A: {a_txt}\n  B: {b_txt}\n")
    if len(shown) == 2:
        break
examples.close()
assert shown == {0, 1}

# %% [markdown]
# **SOP against NSP.** BERT's next-sentence prediction (NSP) takes its negatives from *another* document,
# so a model can answer by noticing that the topic changed, without learning anything about order or
# coherence; ALBERT's negatives are the same two segments swapped, so topic gives nothing away (paper
# §3.1 and Table 5: a model trained on NSP does no better than chance on SOP, 52.0 %, while one trained
# on SOP also solves NSP reasonably, 78.9 %). The figure shows both constructions on a made-up document.

# %%
doc_a = "The import statement finds a module and loads it if necessary."
doc_b = "It then binds one or more names in the local namespace."
other_doc = "Paris is the capital and most populous city of France."
fig = nbhelpers.draw_sop_vs_nsp(doc_a, doc_b, other_doc)
plt.show()

# %% [markdown]
# ## 5. Parity of the model being trained
#
# Training below uses `AlbertForPreTraining` (MLM + SOP heads) and its hand-written backward pass. Before
# trusting a loss curve, the model must agree with Hugging Face transformers on the committed fixture
# `tests/fixtures/hf/pretraining` (3 layers, MLM and SOP labels): every output and **every parameter
# gradient**, to 1e-10 in float64. The one line below is that check; the appendix
# ([08 · How we know these numbers are right](08_appendix_parity.ipynb), section 4) reports it in full.

# %%
assert max(parity.hf_case_maxdiffs("pretraining", "float64").values()) <= 1e-10
print("HF fixture 'pretraining': every output and parameter gradient within 1e-10 (float64)")

# %% [markdown]
# ## 6. A short MLM + SOP run
#
# `pretrain` streams batches from a text file, runs forward and backward, clips the global gradient norm,
# and takes an AdamW step on a warmup + linear-decay schedule (the paper uses LAMB at batch 4096; AdamW suits
# a batch of 8). The model is tiny: V = 30000, E = 32, H = 64, L = 2 layers sharing one group (G = 1),
# NH = 2, I = 128, T = 32, B = 8, 80 steps, written into a temporary directory.
#
# At initialisation every piece is about equally likely, so the MLM loss starts near ln V = ln 30000 ≈ 10.31
# and the SOP loss near ln 2 ≈ 0.69: about 11.0 together. A few dozen steps teach the model the frequencies
# of common pieces, which already brings the loss down by several nats; using context takes far longer
# (see the bundled model below).

# %%
tiny = ma.AlbertConfig(vocab_size=tok.vocab_size, embedding_size=32, hidden_size=64, num_hidden_layers=2,
                       num_hidden_groups=1, num_attention_heads=2, intermediate_size=128,
                       max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
run_dir = tempfile.mkdtemp(prefix="minialbert_nb06_")
tc = TrainConfig(corpus=str(TEXT), out=run_dir, steps=80, batch_size=8, max_seq_length=32,
                 max_predictions_per_seq=5, optimizer="adamw", lr=1e-2, warmup_steps=8, eval_every=0,
                 save_every=0, seed=0, tokenizer=str(MODEL_DIR / "spiece.model"))
t0 = time.perf_counter()
tiny_model, history, _ = pretrain(tiny, tc, progress=False)
secs = time.perf_counter() - t0
loss = np.array([h["loss"] for h in history])
start_loss, end_loss = loss[:5].mean(), loss[-10:].mean()
init_expected = np.log(tok.vocab_size) + np.log(2)
print(f"{tiny_model.num_parameters():,} parameters; {len(loss)} steps in {secs:.1f} s "
      f"({tc.batch_size * tc.max_seq_length * len(loss) / secs:,.0f} tokens/s)")
print(f"loss at step 1: {loss[0]:.3f} (expected about ln V + ln 2 = {init_expected:.3f})")
print(f"mean loss: first 5 steps {start_loss:.3f}, last 10 steps {end_loss:.3f}, drop {start_loss - end_loss:.2f}")
assert abs(loss[0] - init_expected) < 0.3
MARGIN = 2.0
assert end_loss < start_loss - MARGIN, (start_loss, end_loss)
print(f"CHECK RAN: the loss fell by more than {MARGIN} nats")
print("the trainer wrote:", sorted(p.name for p in Path(run_dir).iterdir()), "(temporary directory, removed now)")
shutil.rmtree(run_dir)

# the loss of a model that knows only how often each piece occurs in the text (no context), plus SOP's ln 2
freq = np.bincount(flat) / len(flat)
unigram_expected = -(freq[freq > 0] * np.log(freq[freq > 0])).sum() + np.log(2)
print(f"unigram guess (piece entropy of {TEXT.name} + ln 2): {unigram_expected:.3f}")
fig = nbhelpers.plot_loss_curves(loss, smooth=8, label="train loss per step (MLM + SOP)",
                                 baselines={"uniform guess: ln V + ln 2": init_expected,
                                            "unigram guess: piece entropy + ln 2": unigram_expected},
                                 title=f"Tiny ALBERT (H = 64, L = 2, T = 32, B = 8) on {TEXT.name}")
plt.show()

# %% [markdown]
# ## 7. The bundled model's own training
#
# `minialbert/bundled/minialbert-default` was pretrained by the same loop, much longer: a post-LN ALBERT
# (E = 128 < H = 256, one layer applied 6 times) on English text (WordNet's glosses, the Python
# documentation, the Debian handbook), LAMB as in the paper's §4.1. Its `metrics.json` records the settings
# and every held-out evaluation, `train_loss.json` the training loss at every step; both are read now and
# drawn with two baselines: always guessing the commonest piece (MLM) and a coin flip (SOP, whose labels
# are in or out of order with probability ½).

# %%
metrics = json.loads((MODEL_DIR / "metrics.json").read_text())
tcfg = metrics["train_config"]
run_loss = np.array(json.loads((MODEL_DIR / "train_loss.json").read_text())["loss"])    # (steps,)
evals = metrics["evals"]
print(f"steps {metrics['steps']:,}, batch {tcfg['batch_size']} x T = {tcfg['max_seq_length']}, optimizer "
      f"{tcfg['optimizer']} lr {tcfg['lr']} (warmup {tcfg['warmup_steps']}, linear decay over {tcfg['steps']:,} steps)")
print(f"{'step':>6} {'held-out loss':>14} {'MLM acc':>8} {'SOP acc':>8}")
for e in evals[::4] + ([evals[-1]] if (len(evals) - 1) % 4 else []):
    print(f"{e['step']:>6} {e['eval_loss']:>14.3f} {e['mlm_accuracy']:>8.3f} {e['sop_accuracy']:>8.3f}")
for name, r in metrics["fill_mask"].items():
    print(f"fill-mask, {name} sentences with the intended word in the top 5: {r['hits']} of {r['total']}")

# no-context MLM baseline: the commonest piece's share of the held-out pieces (what "always say it" scores)
held_ids = [i for src in ("pydocs", "wordnet", "handbook")
            for l in (MODEL_DIR / f"heldout-{src}.txt").read_text(encoding="utf-8").splitlines()
            for i in tok.encode(l, add_special_tokens=False)]
mlm_baseline = np.bincount(held_ids).max() / len(held_ids)

# dips: steps whose loss falls more than 1.5 nats under the median of the 201 steps around them
k = 201
med = np.median(np.lib.stride_tricks.sliding_window_view(run_loss, k), axis=1)   # (steps - k + 1,), centred
low = np.flatnonzero(run_loss[k // 2:len(run_loss) - k // 2] < med - 1.5) + k // 2 + 1      # 1-based steps
dips = [int(x) for j, x in enumerate(low) if j == 0 or x - low[j - 1] > 50]                 # first of each run
per_pass = metrics["steps"] / metrics["corpus_passes"]         # steps the stream takes to read the corpus once
gaps = np.diff(dips)
recurring = [d for d in dips if any(abs(abs(d - e) - per_pass) < 3 for e in dips if e != d)]
print(f"\ncommonest piece's share of the held-out pieces: {mlm_baseline:.3f}")
print(f"dips at steps {dips}")
print(f"one pass over the training corpus = {per_pass:.1f} steps ({metrics['corpus_passes']:.2f} passes so far); "
      f"{len(recurring)} of {len(dips)} dips have another dip one pass away (within 3 steps)")

fig = nbhelpers.plot_bundled_run(run_loss, med, evals, dips, mlm_baseline,
                                 title=f"minialbert-default: {metrics['steps']:,} steps of MLM + SOP")
plt.show()

# the facts the text below states
mlm = np.array([e["mlm_accuracy"] for e in evals])
sop = np.array([e["sop_accuracy"] for e in evals])
gap_last = evals[-1]["eval_loss"] - med[-1]                             # held-out minus training (median)
print(f"held-out loss at the end {evals[-1]['eval_loss']:.3f}, median training loss of the last {k} steps "
      f"{med[-1]:.3f}: gap {gap_last:+.3f}")
assert mlm[0] > 2 * mlm_baseline and mlm[-1] > 8 * mlm_baseline       # context, from the first evaluation on
assert np.all(np.diff(mlm[::8]) > 0)                                    # rising over every 4,000 steps
assert abs(gap_last) < 0.5                                              # no overfitting
assert sop[:4].mean() < 0.6 and sop[-4:].mean() > 0.6                   # SOP: near chance early, above later
assert len(dips) >= 6 and len(recurring) >= 0.75 * len(dips)           # the dips recur once a pass

# %% [markdown]
# How to read it (each statement asserted above):
#
# * **MLM.** Held-out MLM accuracy is above twice the no-context baseline at the first evaluation (step
#   500) and above eight times it by the end, and it rises over every 4,000 steps; the rise is fast for the
#   first ~3,000 steps (the model learns which pieces are common and which follow which) and slow after,
#   when what is left to learn is meaning. The held-out loss ends within half a nat of the training loss's
#   running median: no overfitting yet, the model is far from memorising ~3 million words.
# * **SOP.** Sentence order starts near a coin flip (the first evaluations average under 0.6) and ends
#   above it (the last ones average over 0.6): slow and noisy, since each evaluation sees only 256 pairs
#   (a standard error of ±0.03), but real. SOP is a harder task than NSP's topic test (section 4): order
#   can only be read from discourse cues ("then", "this", pronouns), which a small model learns late.
# * **The dips.** The thin downward spikes of the training loss are not noise: they recur exactly one pass
#   over the corpus apart (the trainer's data state gives the pass length). The stream reads the training
#   documents in the same order every pass, so the same few batches come back at the same phase, and
#   their text, repetitive and seen again and again, is partly memorised. (The held-out batches are the
#   same at every evaluation, so the held-out loss has no such phase.)

# %% [markdown]
# ## 8. Exercises
#
# Write the function, change the `answer = ...` line to it and run the checker (`exercises/README.md`).
# The committed notebook grades the reference solutions from `exercises/solutions_06.py`; do not read
# that file before you try.
#
# ### Exercise 1: build an SOP example
#
# Write `sop_example(a, b, swapped, cls_id, sep_id) -> (input_ids, token_type_ids, label)` for two
# consecutive segments `a` then `b` (lists of ids): `[CLS] first [SEP] second [SEP]`, where the segments
# are swapped when `swapped` is true; token type 0 up to and including the first `[SEP]`, 1 after it
# (the final `[SEP]` included); label 1 when swapped, 0 in order. No padding. The checker compares with
# the library's `build_example` (section 4's examples) on a small made-up vocabulary.

# %%
def my_sop_example(a, b, swapped, cls_id, sep_id):
    raise NotImplementedError


answer = solutions.sop_example                   # replace with: answer = my_sop_example

# %%
check.grade(ex06.sop_example, answer)

# %% [markdown]
# ### Exercise 2: the 80/10/10 rule
#
# Once positions are chosen for prediction (section 2), each one is corrupted independently: with
# probability 0.8 it becomes `[MASK]`, with 0.1 a random piece, with 0.1 it stays as it is; the label is
# the original id at every chosen position (whatever happened to it) and −100 (ignored by the loss)
# everywhere else. Write `corrupt(ids, positions, u, random_ids, mask_id) -> (input_ids, labels)`, with
# the randomness handed in so that the answer is checkable: `u[j]` is a uniform draw in [0, 1) for
# `positions[j]` (u < 0.8: `[MASK]`; 0.8 ≤ u < 0.9: `random_ids[j]`; otherwise unchanged).

# %%
def my_corrupt(ids, positions, u, random_ids, mask_id):
    raise NotImplementedError


answer = solutions.corrupt                       # replace with: answer = my_corrupt

# %%
check.grade(ex06.corrupt, answer)

# %% [markdown]
# ## Summary
#
# * Masking works on whole words and n-grams of up to three words; on real text the first span's length
#   matches p(n) ∝ 1/n within 4 standard errors, 15 % of pieces are predicted, split 80/10/10.
# * SOP pairs are two consecutive stretches of one document, swapped half of the time; NSP's negatives
#   come from another document, which a model can spot by topic alone.
# * The pretraining model matches HF transformers to float64 rounding, gradients included; a tiny run on
#   a CPU drops the loss from ln V + ln 2 by several nats in 80 steps.
# * The bundled model's long run: MLM accuracy leaves the commonest-piece baseline at once and keeps
#   rising; SOP rises from a coin flip slowly; the training loss dips once per pass over the corpus,
#   where the same repetitive batches come back.

# %%
print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")
