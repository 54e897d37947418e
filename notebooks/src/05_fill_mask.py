# %% [markdown]
# # 05 · Fill-mask, end to end
#
# ALBERT is pretrained to guess the pieces hidden behind `[MASK]` (the masked-LM objective, paper §3.1 and
# §4.1), so once it is trained the same head answers "what word fits here?". This notebook walks one
# sentence through every stage by hand with the library's own parts (tokenizer → ids → model → logits at the
# mask → softmax → top-k), then checks that `ma.pipeline("fill-mask")` returns exactly the same list, and
# finally checks the pipeline itself against Hugging Face's fill-mask pipeline on a committed fixture.
#
# **Model**: the bundled `minialbert/bundled/minialbert-default`, a small ALBERT of the paper's shape (E = 128 <
# H = 256, one post-LN layer applied 6 times, 4.8M parameters) that minialbert pretrained itself on English
# (WordNet's glosses, the Python documentation, the Debian handbook) on a 2-core CPU; weights/README.md. It
# is small and often wrong, and nothing below hard-codes what it predicts: every number about it is read or
# computed when the notebook runs.
#
# Two exercises at the end: the top-k step for a batch of masks, and the pipeline's `targets=` scoring.

# %%
import json
import re
import textwrap
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minialbert as ma
from minialbert import backend, ops, parity
from minialbert.hub import default_model_path
from minialbert.pipeline import FillMaskError

from exercises import check, ex05, solutions_05 as solutions   # notebooks/exercises: section 8

warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm.auto in a kernel without ipywidgets
t_start = time.perf_counter()
MODEL_DIR = default_model_path()                    # minialbert/bundled/minialbert-default
metrics = json.loads((MODEL_DIR / "metrics.json").read_text())
last_eval = metrics["evals"][-1] if metrics.get("evals") else {}
print(f"model: {MODEL_DIR.name} (package data)")
parity.use_fixtures(Path.cwd().resolve().parent / "tests" / "fixtures" / "hf")   # notebooks/ is in the repository
print(f"trained for {metrics.get('steps')} steps; latest held-out MLM accuracy "
      f"{last_eval.get('mlm_accuracy', float('nan')):.3f} (step {last_eval.get('step')}), read from metrics.json")

# %% [markdown]
# ## 1. Text → pieces → ids
#
# The tokenizer lower-cases the text, splits it into SentencePiece pieces (`▁` marks "a new word starts
# here"), and wraps the pieces as `[CLS] … [SEP]`. `[MASK]` is a special token: it is cut out of the text
# before SentencePiece sees it and becomes one id of its own.

# %%
tok = ma.load_tokenizer(MODEL_DIR)                   # the official 30k ALBERT SentencePiece vocabulary
text = "The [MASK] statement is used to import a module."
enc = tok(text)
ids = np.array(enc["input_ids"])                     # (T,)
pieces = tok.convert_ids_to_tokens(ids.tolist())
print(f"text: {text!r}\nT = {len(ids)} ids, V = {tok.vocab_size}\n")
print(" pos  id     piece")
for i, (t, p) in enumerate(zip(ids, pieces)):
    print(f"{i:4d}  {t:<6d} {p}")

# %% [markdown]
# ## 2. The forward pass, and the logits at the mask
#
# The masked-LM model returns one row of V scores (logits) per position. Only the row at the `[MASK]`
# position matters here; the others are the model's guesses for pieces it can already see.

# %%
model = ma.AlbertForMaskedLM.from_pretrained(MODEL_DIR).eval()     # float32, CPU, dropout off
c = model.config
print(f"config: V={c.vocab_size} E={c.embedding_size} H={c.hidden_size} L={c.num_hidden_layers} "
      f"G={c.num_hidden_groups} NH={c.num_attention_heads} I={c.intermediate_size}; "
      f"{model.num_parameters():,} parameters")

input_ids = ids[None, :]                                  # (B, T) with B = 1
attention_mask = np.ones_like(input_ids)                  # (B, T): no padding
logits = model(input_ids, attention_mask=attention_mask)["logits"]   # (B, T, V)
print("logits shape (B, T, V):", tuple(logits.shape), logits.dtype)

mask_pos = np.flatnonzero(ids == tok.mask_token_id)       # positions holding [MASK]
assert mask_pos.size == 1
pos = int(mask_pos[0])
z = backend.to_numpy(logits[0, pos]).astype(np.float64)   # (V,) logits at the mask, softmax in float64
print(f"[MASK] is at position {pos}; its logits: min {z.min():.2f}, max {z.max():.2f}")

# %% [markdown]
# ## 3. Softmax and top-k
#
# Softmax turns the V logits into probabilities that sum to one (the library's `ops.softmax_forward`
# subtracts the maximum first so `exp` cannot overflow). The top-k are the k largest; a stable sort keeps
# ties in id order, which is what makes the ranking reproducible.

# %%
k = 10
probs, _ = ops.softmax_forward(z.copy())                  # (V,)
assert abs(probs.sum() - 1.0) < 1e-12
top = np.argsort(-probs, kind="stable")[:k]               # (k,) token ids, most likely first
manual = []
for t in top:
    filled = ids.copy()
    filled[pos] = t
    manual.append({"score": float(probs[t]), "token": int(t), "token_str": tok.decode([int(t)]),
                   "sequence": tok.decode(filled.tolist(), skip_special_tokens=True)})
print("rank  id     piece         p")
for r, m in enumerate(manual, 1):
    print(f"{r:4d}  {m['token']:<6d} {tok.convert_ids_to_tokens([m['token']])[0]:<12s} {m['score']:.4f}")

# %% [markdown]
# ## 4. The same through `ma.pipeline("fill-mask")`
#
# The pipeline does the four steps above (plus padding for several texts and one list per mask when there are
# several masks). Run on the same model, its answer must equal the hand-made one: same tokens in the same
# order, same strings, and the same probabilities up to float32 rounding: the pipeline runs the decoder
# only at the [MASK] row (one row, not T: V·E multiply-adds per position saved), and a matrix product of
# another shape sums in another order, so its float32 logits differ in the last bits (|Δz| ~ 1e-6 for
# logits of size ~10, hence |Δp| <= p·|Δz| well under 1e-5).

# %%
fill = ma.pipeline("fill-mask", model=model, tokenizer=tok)
piped = fill(text, top_k=k)
assert [p["token"] for p in piped] == [m["token"] for m in manual]
assert [p["token_str"] for p in piped] == [m["token_str"] for m in manual]
assert [p["sequence"] for p in piped] == [m["sequence"] for m in manual]
gap = max(abs(p["score"] - m["score"]) for p, m in zip(piped, manual))
assert gap <= 1e-5, gap
print(f"CHECK RAN: step-by-step top-{k} == pipeline top-{k} (tokens, strings, sequences exact; "
      f"max |score diff| = {gap:.1e} <= 1e-5)")
print("pipeline's best guess:", piped[0]["sequence"])

# %% [markdown]
# ## 5. What the bundled model gets right and wrong
#
# Before the bundled model was trained, two lists of 30 sentences were written and fixed
# (`weights/sentences/`: everyday English, and sentences in the register of the Python documentation, none
# of them in the training text), each with one word masked. Its `metrics.json` holds their results; here they
# are measured again, by the rank of the intended word among all V pieces at the mask (rank 1 = the model's
# first choice). Then two everyday sentences in detail, the first it gets and the first it misses, with
# the intended word in orange: inside the top 10 if it got there, otherwise added below with its rank.
# Bars are labelled with the SentencePiece piece (so `▁` alone, "start a new word", is visible).

# %%
lists = metrics["fill_mask"]          # {"everyday": {...}, "pydocs": {...}}: text, answer, top5, hit per sentence


def probs_at_mask(text):
    """Steps 1-3 in one go: (V,) float64 probabilities at the text's single [MASK]."""
    ids_ = np.array(tok(text)["input_ids"])                                  # (T,)
    logits_ = model(ids_[None, :], attention_mask=np.ones((1, ids_.size), dtype=np.int64))["logits"]  # (1, T, V)
    pos_ = int(np.flatnonzero(ids_ == tok.mask_token_id)[0])
    return ops.softmax_forward(backend.to_numpy(logits_[0, pos_]).astype(np.float64))[0]


def rank_of(text, word):
    p_all = probs_at_mask(text)
    answer_id = tok.convert_tokens_to_ids("\u2581" + word)                  # every intended word is one piece
    return int((p_all > p_all[answer_id]).sum()) + 1


ranks = {name: [rank_of(s["text"], s["answer"]) for s in r["sentences"]] for name, r in lists.items()}
for name, rk in ranks.items():
    hits = sum(x <= 5 for x in rk)
    print(f"{name:>9}: intended word in the top 5 for {hits} of {len(rk)}; median rank {np.median(rk):.0f} "
          f"of {c.vocab_size:,}; worst {max(rk):,}")
    assert hits == lists[name]["hits"]                       # the same count as the exporter recorded
everyday = lists["everyday"]["sentences"]
misses = [(s["text"], s["answer"], s["top5"]) for s in everyday if not s["hit"]]
print("\nsome everyday misses (intended word: top 5):")
for text_, answer, top5 in misses[:6]:
    print(f"  {text_:<44s} {answer:<9s}: {' '.join(top5)}")
copies = [m for m in misses if m[2][0] in re.findall(r"[a-z]+", m[0].lower())]   # first choice copied from the text
capitals = [s for s in everyday if "capital" in s["text"]]
print(f"\n{len(copies)} of {len(misses)} everyday misses put a word of the sentence itself first; "
      f"capital-city sentences right: {sum(s['hit'] for s in capitals)} of {len(capitals)}")
# the facts the text below states
assert np.median(ranks["everyday"]) < 100 and np.median(ranks["pydocs"]) < np.median(ranks["everyday"])
assert lists["pydocs"]["hits"] > lists["everyday"]["hits"] and 1 in ranks["everyday"] + ranks["pydocs"]
assert len(copies) >= len(misses) / 3 and not any(s["hit"] for s in capitals)

# %% [markdown]
# How to read it: the model puts the intended word first on a few sentences and in the top 5 on more of
# the Python-documentation ones than of the everyday ones: a third of its corpus is the Python docs, and
# their sentences repeat the same frames ("takes no arguments", "in version 3.12"). When it misses, it is
# seldom far off: the intended word's median rank is below 100 of 30,000 pieces on both lists (asserted).
# The misses show what a 4.8M-parameter model trained for a few CPU hours lacks. In at least a third of
# them its first choice is a word of the sentence itself ("The cat sat on the [MASK]." → `cat`), the
# habit of a masked LM that has learnt that nearby words recur but not yet what the sentence says. And
# it has little world knowledge: it gets none of the capital-city sentences (both asserted), facts its
# corpus states only in dictionary glosses, in another form.

# %%
chosen = [next(s for s in everyday if s["hit"]), next(s for s in everyday if not s["hit"])]
fig, axes = plt.subplots(1, len(chosen), figsize=(12, 4.6), squeeze=False)
axes = axes[0]
for ax, item in zip(axes, chosen):
    preds = fill(item["text"], top_k=10)
    answer_id = tok(item["answer"], add_special_tokens=False)["input_ids"][0]   # first piece of the word
    p_all = probs_at_mask(item["text"])
    assert [p["token"] for p in preds] == np.argsort(-p_all, kind="stable")[:10].tolist()
    rank = int((p_all > p_all[answer_id]).sum()) + 1
    labels = [tok.convert_ids_to_tokens([p["token"]])[0] for p in preds][::-1]
    scores = [p["score"] for p in preds][::-1]
    colours = ["tab:orange" if p["token"] == answer_id else "tab:blue" for p in preds][::-1]
    y = list(range(len(scores)))
    if rank > 10:                                  # show the intended word below the top 10, with its rank
        labels.insert(0, f"{tok.convert_ids_to_tokens([answer_id])[0]} (#{rank})")
        scores.insert(0, float(p_all[answer_id]))
        colours.insert(0, "tab:orange")
        y = [-1.5] + y
    ax.barh(y, scores, color=colours)
    ax.set_yticks(y, labels)
    ax.set_xlabel("probability at [MASK] (softmax, 0–1)")
    ax.set_ylabel("top-10 predicted piece")
    ax.set_title("\n".join(textwrap.wrap(item["text"], 42)) +
                 f"\nintended: '{item['answer']}' (piece {tok.convert_ids_to_tokens([answer_id])[0]}) "
                 f"rank {rank}, p={p_all[answer_id]:.2g}", fontsize=10)
    print(f"{item['text']!r}: intended {item['answer']!r} at rank {rank} of {c.vocab_size}")
from matplotlib.patches import Patch
axes[-1].legend(handles=[Patch(color="tab:blue", label="other piece"),
                         Patch(color="tab:orange", label="intended word")], loc="lower right")
fig.suptitle("Bundled minialbert-default: top-10 fill-mask probabilities", fontsize=12)
fig.tight_layout()
fig.savefig("/tmp/nb05_top10.png", dpi=90)
plt.show()

# %% [markdown]
# ## 6. Parity checks
#
# **(a) Released weights.** When a released checkpoint (`albert-base-v2` or `albert-large-v2`) is on this
# machine, the pipeline is run on the three sentences whose outputs the albert-large-v2 model card prints
# (`parity.MODEL_CARD_FILL_MASK`), and token ids must match with scores within
# `parity.MODEL_CARD_ATOL` (float32 torch vs float32 NumPy reduction order). Nothing is ever downloaded here.

# %%
card_reproduced_by = parity.model_card_check()   # None: skipped (no released weights here)

# %% [markdown]
# **(b) Hugging Face's fill-mask pipeline (always runs).** `tests/fixtures/hf/fillmask/` holds a small random
# `AlbertForMaskedLM` with the real V = 30000 vocabulary, and in `pipeline.json` the exact return values of
# transformers' `pipeline("fill-mask")` for single masks, several masks and a batch of texts. As in
# `tests/test_fill_mask.py`: tokens, `token_str` and `sequence` must match exactly, scores within 1e-5
# absolute (HF ran in float32; minialbert's float32 differs from it by ~1e-6 here). The fixture also stores
# HF's float64 probabilities (`scores64`); minialbert in float64 must meet them within 1e-12, since only
# rounding can differ.

# %%
FIX = parity.fixtures_dir() / "fillmask"
calls = json.loads((FIX / "pipeline.json").read_text())
import hashlib
sha = hashlib.sha256((MODEL_DIR / "spiece.model").read_bytes()).hexdigest()
assert sha == calls["spiece_model_sha256"], "the fixture was made with a different vocabulary"
fx_tok = ma.AlbertTokenizer.from_pretrained(MODEL_DIR / "spiece.model")
fx32 = ma.pipeline("fill-mask", model=str(FIX), tokenizer=fx_tok)                   # float32, as HF ran
fx64 = ma.pipeline("fill-mask", model=str(FIX), tokenizer=fx_tok, dtype="float64")


def per_mask(result):
    """One list of predictions per (text, mask), whatever the nesting of the pipeline's return value."""
    if result and isinstance(result[0], dict):
        return [result]
    out = []
    for r in result:
        out.extend(per_mask(r))
    return out


print(f"{'inputs':<38} {'k':>2} {'masks':>5} {'max|Δp| f32 vs HF':>18} {'max|Δp| f64 vs HF64':>20}")
worst32 = worst64 = 0.0
for call in calls["calls"]:
    for t_, ids_ref in zip(call["texts"], call["input_ids"]):
        assert fx_tok(t_)["input_ids"] == ids_ref, t_                       # same ids as HF's tokenizer
    ours, ref = per_mask(fx32(call["inputs"], top_k=call["top_k"])), per_mask(call["output"])
    ours64 = per_mask(fx64(call["inputs"], top_k=call["top_k"]))
    ref64 = [m for text_scores in call["scores64"] for m in text_scores]
    assert len(ours) == len(ref) == len(ours64) == len(ref64)
    d32 = d64 = 0.0
    for o, r, o64, r64 in zip(ours, ref, ours64, ref64):
        for key in ("token", "token_str", "sequence"):
            assert [p[key] for p in o] == [p[key] for p in r], (call["inputs"], key)
        assert [p["token"] for p in o64] == [p["token"] for p in r]
        d32 = max(d32, max(abs(p["score"] - q["score"]) for p, q in zip(o, r)))
        d64 = max(d64, max(abs(p["score"] - s) for p, s in zip(o64, r64)))
    assert d32 <= 1e-5 and d64 <= 1e-12, (call["inputs"], d32, d64)
    worst32, worst64 = max(worst32, d32), max(worst64, d64)
    print(f"{str(call['inputs']):<38} {call['top_k']:>2} {len(ref):>5} {d32:>18.1e} {d64:>20.1e}")

# The one text HF 5's fast tokenizer splits differently ("[MASK]." -> no "▁" piece): the fixture ran HF's
# pipeline on the classic ids, which are the ones minialbert's tokenizer produces.
for t_, entry in calls["dropped"].items():
    assert fx_tok(t_)["input_ids"] == entry["reference_input_ids"]
    o, r = fx32(t_, top_k=entry["top_k"]), entry["pipeline_on_reference_ids"]["output"]
    assert [p["token"] for p in o] == [p["token"] for p in r]
    d = max(abs(p["score"] - q["score"]) for p, q in zip(o, r))
    assert d <= 1e-5
    print(f"{t_!r:<38} {entry['top_k']:>2} {1:>5} {d:>18.1e} {'(classic ids)':>20}")
print(f"CHECK RAN: HF fill-mask fixture ({len(calls['calls'])} calls + {len(calls['dropped'])} classic-ids case, "
      f"transformers {calls['transformers_version']}): tokens/strings/sequences exact; "
      f"float32 max|Δp| {worst32:.1e} <= 1e-5; float64 max|Δp| {worst64:.1e} <= 1e-12")

# %% [markdown]
# ## 7. Clear errors for bad input
#
# Two mistakes are common: forgetting the `[MASK]`, and a text longer than the model's position table
# (`max_position_embeddings`). Both raise `FillMaskError` (a `ValueError`) with a message that says what to do.
# `truncate=True` keeps the first pieces (and the closing `[SEP]`) instead.

# %%
limit = model.config.max_position_embeddings
bad_inputs = {"no [MASK]": "There is nothing to fill in here.",
              "too long": "word " * (limit + 20) + "[MASK]"}
for what, bad in bad_inputs.items():
    try:
        fill(bad)
    except FillMaskError as e:
        print(f"{what:>9}: FillMaskError: {e}")
    else:
        raise AssertionError(f"{what}: no error raised")
short_first = "[MASK] " + "word " * (limit + 20)
print(f"truncate=True on a {len(tok(short_first)['input_ids'])}-piece text with the mask near the start: "
      f"{len(fill(short_first, truncate=True))} predictions (limit {limit})")

# %% [markdown]
# ## 8. Exercises
#
# Write the function, change the `answer = ...` line to it and run the checker (`exercises/README.md`).
# The committed notebook grades the reference solutions from `exercises/solutions_05.py`; do not read
# that file before you try. The checkers use a freshly initialised float64 model on the real vocabulary
# (not the bundled model) and compare with what `ma.pipeline("fill-mask")` returns for it.
#
# ### Exercise 1: top-k for every mask at once
#
# Section 3 did one mask. Write `top_k(logits, k) -> (ids, scores)` for `logits` of shape (N, V), one row
# per `[MASK]` (the pipeline stacks the masks of a whole batch of texts): for each row, the k most probable
# token ids, most probable first, and their softmax probabilities, both (N, k). As the pipeline:
# softmax over the vocabulary in float64, without letting `exp` overflow; equal probabilities in
# increasing id order. The checker also feeds rows with many tied logits and rows shifted by +800 (which
# leave the softmax unchanged).

# %%
def my_top_k(logits, k):
    raise NotImplementedError


answer = solutions.top_k                          # replace with: answer = my_top_k

# %%
check.grade(ex05.top_k, answer)

# %% [markdown]
# ### Exercise 2: `targets=`
#
# `fill(text, targets=[...])` scores only the given words. What is a target's score: its probability
# among the whole vocabulary, or among the targets? Hugging Face (and so minialbert) keeps the first: the
# softmax runs over the whole vocabulary, the targets' probabilities are picked out and ranked, and they
# do not sum to one. Here is the other reading through the checker (`run` returns the report without
# raising): the ranking is the same, since a softmax keeps the order, but every score is wrong.

# %%
def renormalised_target_scores(logits, target_ids, k):
    p, _ = ops.softmax_forward(logits[:, target_ids])          # (N, K): softmax over the targets only
    order = np.argsort(-p, axis=-1, kind="stable")[:, :k]      # positions in target_ids
    return np.asarray(target_ids)[order], np.take_along_axis(p, order, axis=-1)


report = check.run(ex05.target_scores, renormalised_target_scores)
print(report)
assert not report.passed and all(v.name.startswith("scores") for v in report.failures)   # ids right, scores not

# %% [markdown]
# Now write `target_scores(logits, target_ids, k) -> (ids, scores)` as the pipeline does it: `logits`
# (N, V), `target_ids` a list of K vocabulary ids (what `fill.target_ids(["▁module", ...])` makes of
# the strings); for each row the min(k, K) most probable targets, as **vocabulary ids**, with their
# probabilities under the softmax over the whole vocabulary; ties in the order the targets were given.

# %%
def my_target_scores(logits, target_ids, k):
    raise NotImplementedError


answer = solutions.target_scores                  # replace with: answer = my_target_scores

# %%
check.grade(ex05.target_scores, answer)

# %% [markdown]
# ## Summary
#
# * Fill-mask is nothing but the masked-LM head read at one position: logits (V,) → softmax → the k largest.
# * The step-by-step result and `ma.pipeline("fill-mask")` agree exactly; the pipeline in turn reproduces
#   Hugging Face's pipeline on a committed V = 30000 fixture (strings exact, scores 1e-5 in float32,
#   1e-12 in float64).
# * The bundled model gets the intended word into its top 5 on some of the everyday sentences and
#   on more of the Python-documentation ones; its misses are near (median rank well under 100 of 30,000),
#   often a word copied from the sentence, and short of world knowledge. It is still training
#   (`weights/README.md`, notebook 06); the checks of sections 4 and 6 do not depend on it.

# %%
print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")
