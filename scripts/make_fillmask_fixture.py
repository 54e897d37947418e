"""Generate the Hugging Face fill-mask pipeline fixture in tests/fixtures/hf/fillmask/.

This script is a developer tool only. torch and transformers are NEVER a test
or runtime dependency of minialbert: the tests
read the committed files (config.json, model.safetensors, pipeline.json) with
plain NumPy / json, and read the vocabulary from ../shared/albert-vocab/.

Set up a separate virtual environment (never install torch into the main
Python) and run the script from the repository root:

    python3 -m venv /work/fixenv
    /work/fixenv/bin/pip install "torch==2.13.0+cpu" transformers safetensors numpy sentencepiece
    /work/fixenv/bin/python scripts/make_fillmask_fixture.py             # writes tests/fixtures/hf/fillmask
    /work/fixenv/bin/python scripts/make_fillmask_fixture.py --out DIR   # writes elsewhere
    /work/fixenv/bin/python scripts/make_fillmask_fixture.py --spiece PATH/spiece.model

(sentencepiece is needed by transformers to convert the bare spiece.model into
its tokenizer; without it every piece silently maps to <unk>.)

What it does:
  1. Builds a small random AlbertForMaskedLM with the real vocabulary size
     (V=30000, E=8, H=16, 2 heads, I=24, 2 layers, 40 positions, gelu_new,
     eager attention). Seeded; parameters are perturbed as in make_fixtures.py
     and the MLM head's LayerNorm (weight and bias) is scaled so that the
     predictions are peaked: for every text and mask the top probability is
     > 0.01 and consecutive top-6 probabilities differ by > 1e-5 relative, in
     float32 and float64 alike (so the top-k order is robust to float32
     rounding). The predictions must also depend on the context (>= 5
     distinct top-1 tokens over all masks; the two masks of one text differ).
     Seeds / scales are tried in a fixed order until all of that holds.
  2. Loads transformers' AlbertTokenizer from the official ALBERT
     spiece.model (copied to a temporary directory, never into the fixture)
     and runs pipeline("fill-mask", top_k=K) on fixed texts. Each text's HF
     input_ids are compared with the classic ALBERT tokenization (recomputed
     here with sentencepiece, see classic_encode); texts where they differ are
     dropped from "calls" and listed under "dropped" together with HF's
     pipeline forward+postprocess fed the classic ids directly.
  3. Reloads the saved model in float64 and records the softmax probabilities
     of the returned tokens at every mask position (scores64).

Output (tests/fixtures/hf/fillmask/):
  config.json, model.safetensors  -- as written by save_pretrained (float32)
  pipeline.json                    -- calls, HF outputs, input ids, scores64,
                                      observed HF conventions, versions

Output is deterministic: two runs with the same library versions give
byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import unicodedata

import numpy as np
import sentencepiece as spm
import tokenizers
import torch
import transformers
from transformers import AlbertConfig, AlbertForMaskedLM, AlbertTokenizer, pipeline

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "hf", "fillmask")
SPIECE_REL = os.path.join("..", "shared", "albert-vocab", "spiece.model")  # relative to the repo root
DEFAULT_SPIECE = os.path.normpath(os.path.join(REPO_ROOT, SPIECE_REL))

CONFIG = dict(
    vocab_size=30000,
    embedding_size=8,
    hidden_size=16,
    num_attention_heads=2,
    intermediate_size=24,
    num_hidden_layers=2,
    num_hidden_groups=1,
    inner_group_num=1,
    hidden_act="gelu_new",
    max_position_embeddings=40,  # small on purpose: too-long input must raise
    type_vocab_size=2,
    initializer_range=0.2,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    classifier_dropout_prob=0.0,
    pad_token_id=0,
    bos_token_id=2,
    eos_token_id=3,
)

BASE_SEED = 2024
MAX_SEED_TRIES = 20
HEAD_SCALES = (4.0, 6.0, 8.0, 12.0, 16.0)  # multiplies predictions.LayerNorm.{weight,bias}
MIN_TOP_SCORE = 0.01
MIN_REL_GAP = 1e-5
CHECK_TOP = 6
MIN_DISTINCT_TOP1 = 5  # over the mask positions of all texts: predictions must depend on the context

# (inputs, top_k): a str is one pipeline call on one text, a list is one call on a batch.
CALLS = [
    ("Hello I'm a [MASK] model.", 5),
    ("The man worked as a [MASK].", 5),
    ("paris is the [MASK] of france", 3),
    ("the [MASK] sat on the [MASK]", 4),
    (["a [MASK] day", "[MASK] is good"], 2),
]

# The classic ALBERT ids of this text (what the released checkpoints were
# trained with and what minialbert's tokenizer produces).
CHECK_TEXT = "The man worked as a [MASK]."
CHECK_IDS = [2, 14, 169, 577, 28, 21, 4, 13, 9, 3]

CLS_ID, SEP_ID, MASK_ID = 2, 3, 4


# ---------------------------------------------------------------------------
# Classic ALBERT tokenization (reference for the dropped-text check)
# ---------------------------------------------------------------------------

def classic_encode(sp: spm.SentencePieceProcessor, text: str) -> list[int]:
    """[CLS] ids [SEP] as the original ALBERT release / slow HF tokenizer made them
    (lower-cased, accents stripped). Only [MASK] is recognised as a special token
    in the text; a space before it is absorbed by it (lstrip)."""
    parts = re.split(r"(\[MASK\])", text)
    ids = [CLS_ID]
    for i, part in enumerate(parts):
        if part == "[MASK]":
            ids.append(MASK_ID)
            continue
        if i + 1 < len(parts):  # a [MASK] follows: it strips the spaces on its left
            part = part.rstrip()
        part = " ".join(part.strip().split())
        if not part:
            continue
        part = part.replace("``", '"').replace("''", '"')
        part = "".join(c for c in unicodedata.normalize("NFKD", part) if not unicodedata.combining(c))
        part = part.lower()
        pieces = sp.encode(part, out_type=str)
        fixed = []
        for piece in pieces:
            if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
                cur = sp.encode(piece[:-1].replace("\u2581", ""), out_type=str)
                if piece[0] != "\u2581" and cur and cur[0][0] == "\u2581":
                    if len(cur[0]) == 1:
                        cur = cur[1:]
                    else:
                        cur[0] = cur[0][1:]
                fixed.extend(cur)
                fixed.append(piece[-1])
            else:
                fixed.append(piece)
        ids.extend(sp.piece_to_id(p) for p in fixed)
    ids.append(SEP_ID)
    return ids


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------

def perturb_(model: torch.nn.Module, seed: int):
    """As in make_fixtures.py: no zero biases, no unit LayerNorm weights."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            if "LayerNorm" in name or "layer_norm" in name:
                p.add_(0.1 * noise)
            elif name.endswith("bias"):
                p.add_(0.1 * noise)
            else:
                p.add_(0.02 * noise)


def build(seed: int, scale: float) -> AlbertForMaskedLM:
    config = AlbertConfig(attn_implementation="eager", **CONFIG)
    torch.manual_seed(seed)
    model = AlbertForMaskedLM(config)
    perturb_(model, seed + 1)
    with torch.no_grad():
        model.predictions.LayerNorm.weight.mul_(scale)
        model.predictions.LayerNorm.bias.mul_(scale)
    model = model.float().eval()
    assert model.predictions.decoder.weight is model.albert.embeddings.word_embeddings.weight
    return model


def load(model_dir: str, dtype) -> AlbertForMaskedLM:
    model, info = AlbertForMaskedLM.from_pretrained(
        model_dir, attn_implementation="eager", output_loading_info=True
    )
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if info.get(k):
            raise RuntimeError(f"from_pretrained reported {k}: {info[k]}")
    assert model.config._attn_implementation == "eager"
    model = model.to(dtype).eval()
    return model


def mask_probs(model, input_ids: list[int]) -> np.ndarray:
    """Softmax over the vocabulary at each [MASK] position, float64 array (n_masks, V).
    Called like the pipeline does: input_ids + attention_mask, no token_type_ids."""
    ids = torch.tensor([input_ids])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
    pos = [i for i, t in enumerate(input_ids) if t == MASK_ID]
    return logits[pos].softmax(dim=-1).double().numpy()


def peaked_problems(probs: np.ndarray) -> list[str]:
    problems = []
    for m, row in enumerate(probs):
        order = np.argsort(-row, kind="stable")[:CHECK_TOP]
        top = row[order]
        if top[0] <= MIN_TOP_SCORE:
            problems.append(f"mask {m}: top score {top[0]:.3g} <= {MIN_TOP_SCORE}")
        rel = (top[:-1] - top[1:]) / top[:-1]
        if np.any(rel <= MIN_REL_GAP):
            problems.append(f"mask {m}: relative gap {rel.min():.3g} <= {MIN_REL_GAP}")
    return problems


def check_model(model32, all_ids: list[list[int]]) -> list[str]:
    model64 = AlbertForMaskedLM(model32.config)
    model64.load_state_dict(model32.state_dict())
    model64 = model64.double().eval()
    problems = []
    top1 = []
    for ids in all_ids:
        p32 = mask_probs(model32, ids)
        top1 += np.argmax(p32, axis=-1).tolist()
        if p32.shape[0] > 1 and len(set(np.argmax(p32, axis=-1).tolist())) < p32.shape[0]:
            problems.append(f"{ids}: several masks share their top-1 token")
        p64 = mask_probs(model64, ids)
        problems += [f"{ids} float32 {p}" for p in peaked_problems(p32)]
        problems += [f"{ids} float64 {p}" for p in peaked_problems(p64)]
        o32 = np.argsort(-p32, axis=-1, kind="stable")[:, :CHECK_TOP]
        o64 = np.argsort(-p64, axis=-1, kind="stable")[:, :CHECK_TOP]
        if not np.array_equal(o32, o64):
            problems.append(f"{ids}: float32 / float64 top-{CHECK_TOP} differ")
    if len(set(top1)) < MIN_DISTINCT_TOP1:
        problems.append(f"only {len(set(top1))} distinct top-1 tokens over all masks (< {MIN_DISTINCT_TOP1})")
    return problems


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def jsonable(x):
    """Pipeline output -> plain JSON types (floats stay Python floats, ids ints)."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bool, str)) or x is None:
        return x
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x)
    if isinstance(x, torch.Tensor):
        return jsonable(x.tolist())
    raise TypeError(type(x))


def per_text_rows(output, n_texts: int, n_masks: list[int]):
    """Normalise a pipeline return value to [text][mask][k] dicts."""
    outs = output if n_texts > 1 else [output]
    assert len(outs) == n_texts
    rows = []
    for out, nm in zip(outs, n_masks):
        if nm == 1:
            assert isinstance(out, list) and all(isinstance(d, dict) for d in out), out
            rows.append([out])
        else:
            assert isinstance(out, list) and len(out) == nm and all(isinstance(r, list) for r in out), out
            rows.append(out)
    return rows


def scores64_for(model64, ids: list[int], rows_for_text) -> list[list[float]]:
    p64 = mask_probs(model64, ids)
    res = []
    for m, row in enumerate(rows_for_text):
        toks = [d["token"] for d in row]
        order = np.argsort(-p64[m], kind="stable")[: len(toks)].tolist()
        if order != toks:
            raise RuntimeError(f"float64 top tokens {order} != pipeline tokens {toks} for {ids}")
        res.append([float(p64[m, t]) for t in toks])
    return res


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output dir (default: tests/fixtures/hf/fillmask)")
    parser.add_argument("--spiece", default=DEFAULT_SPIECE, help="official ALBERT spiece.model")
    args = parser.parse_args(argv)

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    with open(args.spiece, "rb") as f:
        spiece_sha256 = hashlib.sha256(f.read()).hexdigest()
    sp = spm.SentencePieceProcessor(model_file=args.spiece)

    # --- tokenizer -------------------------------------------------------------
    # AlbertTokenizer(vocab_file=...) does not read the file in transformers 5.x
    # (the conversion only runs in from_pretrained): record what it gives.
    ctor_tok = AlbertTokenizer(vocab_file=args.spiece)
    ctor_vocab_len = len(ctor_tok)
    tmp = tempfile.mkdtemp(prefix="albert-spiece-")
    try:
        shutil.copyfile(args.spiece, os.path.join(tmp, "spiece.model"))
        tok = AlbertTokenizer.from_pretrained(tmp)
    finally:
        shutil.rmtree(tmp)
    assert len(tok) == 30000, len(tok)
    assert tok.do_lower_case is True and tok.keep_accents is False
    assert tok.mask_token == "[MASK]" and tok.mask_token_id == MASK_ID
    mask_added = tok.added_tokens_decoder[MASK_ID]

    def hf_ids(text):
        return [int(i) for i in tok(text)["input_ids"]]

    # --- which texts agree with the classic tokenization ------------------------
    classic_check = classic_encode(sp, CHECK_TEXT)
    if classic_check != CHECK_IDS:
        raise RuntimeError(f"classic_encode({CHECK_TEXT!r}) = {classic_check} != {CHECK_IDS}")
    hf_check = hf_ids(CHECK_TEXT)
    kept, dropped = [], {}
    for inputs, top_k in CALLS:
        texts = inputs if isinstance(inputs, list) else [inputs]
        bad = {t: (hf_ids(t), classic_encode(sp, t)) for t in texts}
        bad = {t: v for t, v in bad.items() if v[0] != v[1]}
        if not bad:
            kept.append((inputs, top_k))
            continue
        if len(texts) > 1:
            raise RuntimeError(f"batch call with a mismatching text: {bad}")
        for t, (h, c) in bad.items():
            dropped[t] = dict(top_k=top_k, hf_input_ids=h, reference_input_ids=c)
    if (hf_check == CHECK_IDS) != (CHECK_TEXT not in dropped):
        raise RuntimeError("inconsistent check of CHECK_TEXT")

    # --- model: first (seed, scale) whose predictions are peaked -----------------
    all_ids = []
    for inputs, _ in CALLS:
        for t in inputs if isinstance(inputs, list) else [inputs]:
            all_ids.append(hf_ids(t))
            all_ids.append(classic_encode(sp, t))
    chosen = None
    tried = []
    for attempt in range(MAX_SEED_TRIES):
        seed = BASE_SEED + attempt
        for scale in HEAD_SCALES:
            problems = check_model(build(seed, scale), all_ids)
            tried.append((seed, scale, len(problems)))
            if not problems:
                chosen = (seed, scale)
                break
        if chosen:
            break
    if chosen is None:
        raise RuntimeError(f"no peaked model found: {tried}")
    seed, scale = chosen

    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    built = build(seed, scale)
    built.save_pretrained(args.out, safe_serialization=True)

    model32 = load(args.out, torch.float32)
    model64 = load(args.out, torch.float64)
    for k, v in model32.state_dict().items():
        if not torch.equal(v, built.state_dict()[k]):
            raise RuntimeError(f"reloaded tensor {k} differs from the saved one")
    problems = check_model(model32, all_ids)
    if problems:
        raise RuntimeError(f"reloaded model not peaked: {problems}")

    # --- pipeline calls ----------------------------------------------------------
    calls = []
    for inputs, top_k in kept:
        texts = inputs if isinstance(inputs, list) else [inputs]
        pipe = pipeline("fill-mask", model=model32, tokenizer=tok, top_k=top_k, device="cpu")
        output = jsonable(pipe(inputs))
        ids = [hf_ids(t) for t in texts]
        n_masks = [row.count(MASK_ID) for row in ids]
        rows = per_text_rows(output, len(texts), n_masks)
        calls.append(
            dict(
                inputs=inputs,
                texts=texts,
                top_k=top_k,
                input_ids=ids,
                mask_positions=[[i for i, t in enumerate(row) if t == MASK_ID] for row in ids],
                output=output,
                scores64=[scores64_for(model64, i, r) for i, r in zip(ids, rows)],
            )
        )

    # Dropped texts: HF's own forward + postprocess on the classic ids.
    for text, entry in dropped.items():
        pipe = pipeline("fill-mask", model=model32, tokenizer=tok, top_k=entry["top_k"], device="cpu")
        ids = entry["reference_input_ids"]
        t_ids = torch.tensor([ids])
        model_outputs = pipe.forward({"input_ids": t_ids, "attention_mask": torch.ones_like(t_ids)})
        output = jsonable(pipe.postprocess(model_outputs, top_k=entry["top_k"]))
        rows = per_text_rows(output, 1, [ids.count(MASK_ID)])
        entry["reason"] = (
            "transformers' AlbertTokenizer (tokenizers backend rebuilt from spiece.model) splits the "
            "user-defined piece '.' out as an added token, so '[MASK].' gives [MASK] . (4, 9) where the "
            "classic tokenization gives [MASK] \u2581 . (4, 13, 9)"
        )
        entry["pipeline_on_reference_ids"] = dict(
            how="pipe.forward({'input_ids', 'attention_mask'}) + pipe.postprocess(top_k) with the reference ids "
            "(HF's tokenizer bypassed; decode still HF's)",
            output=output,
            scores64=scores64_for(model64, ids, rows[0]),
        )

    # --- observed conventions ------------------------------------------------------
    single = next(c for c in calls if len(c["texts"]) == 1 and len(c["mask_positions"][0]) == 1)
    multi = next(c for c in calls if len(c["texts"]) == 1 and len(c["mask_positions"][0]) > 1)
    batch = next(c for c in calls if len(c["texts"]) > 1)
    all_props = [d for c in calls for text_rows in
                 per_text_rows(c["output"], len(c["texts"]), [len(m) for m in c["mask_positions"]])
                 for row in text_rows for d in row]
    observed = dict(
        single_mask_returns_flat_list_of_dicts=isinstance(single["output"][0], dict),
        multi_mask_returns_list_per_mask=all(isinstance(r, list) for r in multi["output"]),
        batch_returns_list_per_text=len(batch["output"]) == len(batch["texts"]),
        single_mask_sequence_has_special_tokens=any(
            s in d["sequence"] for d in single["output"] for s in ("[CLS]", "[SEP]")
        ),
        multi_mask_sequence_has_special_tokens=all(
            "[CLS]" in d["sequence"] and "[SEP]" in d["sequence"] and "[MASK]" in d["sequence"]
            for r in multi["output"] for d in r
        ),
        token_str_has_sentencepiece_underline=any("\u2581" in d["token_str"] for d in all_props),
        sequence_has_sentencepiece_underline=any("\u2581" in d["sequence"] for d in all_props),
    )
    single_seq = single["output"][0]["sequence"]
    multi_seq = multi["output"][0][0]["sequence"]
    # Decoding probes (model independent): a word-initial and a non-word-initial piece.
    word_id, cont_id = tok.convert_tokens_to_ids("\u2581sun"), tok.convert_tokens_to_ids("sun")
    probe_ids = [CLS_ID, tok.convert_tokens_to_ids("\u2581a"), None, tok.convert_tokens_to_ids("\u2581day"), SEP_ID]
    decode_probes = []
    for pid in (word_id, cont_id):
        ids = list(probe_ids)
        ids[2] = pid
        decode_probes.append(dict(
            token=pid, piece=tok.convert_ids_to_tokens(pid), token_str=tok.decode([pid]), ids=ids,
            skip_special_true=tok.decode(ids, skip_special_tokens=True),
            skip_special_false=tok.decode(ids, skip_special_tokens=False),
        ))
    conventions = dict(
        observed=observed,
        examples=dict(
            single_mask_sequence=single_seq,
            multi_mask_sequence=multi_seq,
            decode_probes=decode_probes,
        ),
        note=(
            "One text with one [MASK]: a flat list of top_k dicts {score, token, token_str, sequence}. "
            "One text with several masks: a list (one per mask, in text order) of lists of top_k dicts; each mask "
            "is scored independently from the same forward pass and the other masks stay [MASK] in 'sequence'. "
            "A list of texts: a list with one entry per text, each shaped as above (batch_size 1, no padding). "
            "'sequence' = tokenizer.decode(input_ids with that mask replaced, pad removed, "
            "skip_special_tokens=(exactly one mask)): with one mask [CLS]/[SEP] are skipped; with several "
            "masks [CLS], [SEP] and the other [MASK] are kept, written with no space before them (the decoder "
            "only turns '\u2581' into spaces and strips the very first leading space), see examples. "
            "'token_str' = decode([token]): the piece with '\u2581' removed (no leading space), so '\u2581sun' "
            "and 'sun' both read 'sun'; a non-word-initial piece glues onto the previous word in 'sequence' "
            "(decode_probes). "
            "'score' = softmax probability (float32) over the full vocabulary, top_k in descending order."
        ),
        model_inputs="the HF tokenizer returns input_ids and attention_mask only (no token_type_ids; the model "
        "then uses type 0 everywhere)",
    )

    doc = dict(
        description=(
            "transformers fill-mask pipeline outputs for a small random AlbertForMaskedLM (config.json, "
            "model.safetensors here) with the official ALBERT 30k SentencePiece vocabulary "
            "(read from spiece_model, not copied). Each call: inputs as passed to the pipeline (str or list), "
            "texts, top_k, input_ids per text (tok(text)['input_ids'], equal to the classic ALBERT ids), "
            "mask_positions per text, output (the exact pipeline return value), scores64 "
            "([text][mask][k]: float64 softmax probabilities of output's tokens, same order, from the model "
            "reloaded in float64)."
        ),
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
        tokenizers_version=tokenizers.__version__,
        sentencepiece_version=spm.__version__,
        spiece_model=SPIECE_REL.replace(os.sep, "/"),
        spiece_model_sha256=spiece_sha256,
        tokenizer=dict(
            cls=f"{type(tok).__module__}.{type(tok).__name__}",
            loaded_with="AlbertTokenizer.from_pretrained(<dir holding only spiece.model>)",
            vocab_file_ctor_vocab_size=ctor_vocab_len,
            vocab_file_ctor_note=(
                "AlbertTokenizer(vocab_file=spiece.model) ignores the file in this transformers version "
                "(every word becomes <unk>); from_pretrained converts it"
                if ctor_vocab_len != 30000 else "AlbertTokenizer(vocab_file=...) reads the file"
            ),
            do_lower_case=tok.do_lower_case,
            keep_accents=tok.keep_accents,
            mask_token=str(mask_added),
            mask_token_lstrip=mask_added.lstrip,
            mask_token_note="lstrip is False here, but the tokenizers pre-tokenizer (WhitespaceSplit + Metaspace) "
            "drops the space before [MASK] anyway, so 'a [MASK]' gives \u2581a [MASK] as in the classic path",
            check=dict(text=CHECK_TEXT, expected_ids=CHECK_IDS, hf_ids=hf_check, equal=hf_check == CHECK_IDS),
        ),
        model=dict(
            cls="AlbertForMaskedLM",
            attn_implementation="eager",
            seed=seed,
            head_layernorm_scale=scale,
            peaked=dict(min_top_score=MIN_TOP_SCORE, min_rel_gap_top6=MIN_REL_GAP,
                        min_distinct_top1=MIN_DISTINCT_TOP1,
                        note="checked for every text and mask, HF and classic ids, float32 and float64"),
            max_position_embeddings=CONFIG["max_position_embeddings"],
        ),
        conventions=conventions,
        calls=calls,
        dropped=dropped,
    )
    with open(os.path.join(args.out, "pipeline.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")

    sizes = {fn: os.path.getsize(os.path.join(args.out, fn)) for fn in sorted(os.listdir(args.out))}
    total = sum(sizes.values())
    print(f"transformers {transformers.__version__}, torch {torch.__version__}; seed {seed}, scale {scale}")
    print(f"tried (seed, scale, #problems): {tried}")
    print(f"kept {len(calls)} calls, dropped {list(dropped)}")
    for fn, n in sizes.items():
        print(f"  {fn:<20} {n:>9}")
    print(f"  total {total} bytes ({total / 2**20:.2f} MiB)")
    if sizes["model.safetensors"] > 1.5e6 or total > 1.6e6:
        raise RuntimeError("fixture too large")
    return 0


if __name__ == "__main__":
    sys.exit(main())
