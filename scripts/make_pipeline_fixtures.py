"""Generate the Hugging Face reference fixtures of minialbert's task pipelines (tests/fixtures/pipelines/).

Developer tool only: torch and transformers are never a dependency of minialbert or its tests.
Run from the repository root with the separate environment that has them:

    /root/fixvenv/bin/python scripts/make_pipeline_fixtures.py

(That environment also needs `sentencepiece` and `protobuf`: without them transformers 5 cannot convert
spiece.model and the tokenizer is unusable.) Two runs with the same library versions write identical files.

For each head (sequence classification, token classification, question answering, the bare model)
(Input choices: HF's tokenizer here is the tokenizers-backed one; it does not split a comma off a
number ("1990," stays one piece) as the classic ALBERT tokenizer and minialbert do, so no input has a
digit followed by a comma; nor a hyphenated word: HF's splits "air-transport" as "▁air - ▁transport",
the classic one as "▁air - trans port". Nor any ``...'' quotes: both tokenizers turn them into '"', but the
offsets HF gives the replaced characters are odd -- (20, 21) for a "``" at 19-20 -- and minialbert's
offsets helper does not copy that.)

It builds a small random, seeded ALBERT with the official 30k vocabulary
(minialbert/bundled/minialbert-default/spiece.model, referenced, not copied), rounds every weight to
float16 (so that the float16 files saved here hold exactly the weights HF ran with, in float32),
runs HF's own `transformers.pipeline(...)` on a few inputs and writes

    tests/fixtures/pipelines/<task>/{config.json, model.safetensors}   (float16 weights)
    tests/fixtures/pipelines/<task>/outputs.json                        (calls and HF's outputs)

Question answering: transformers 5 has no question-answering pipeline any more, so its reference is
the transformers-4 QuestionAnsweringPipeline algorithm re-implemented below (`hf4_qa`) on HF's own
fast tokenizer (offsets, overflowing windows with a stride) and HF's model logits, with
align_to_words=False: answers are the characters of the answer's tokens. (transformers 4 defaulted to
align_to_words=True, growing an answer to whole "words"; but the word ids of the converted ALBERT
tokenizer are ad hoc -- in "air-transport hub." the "-" and the "." are words of their own, in
"yesterday," the "," is not -- so minialbert does not copy them.)
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
import torch
import transformers
from transformers import (AlbertConfig, AlbertForQuestionAnswering, AlbertForSequenceClassification,
                          AlbertForTokenClassification, AlbertModel, AlbertTokenizer, pipeline)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "pipelines")
SPIECE = os.path.join(ROOT, "minialbert", "bundled", "minialbert-default", "spiece.model")

BASE = dict(vocab_size=30000, embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=24,
            num_hidden_layers=2, hidden_act="gelu_new", max_position_embeddings=64, initializer_range=0.2,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0,
            pad_token_id=0, bos_token_id=2, eos_token_id=3)

CLS_LABELS = {0: "negative", 1: "neutral", 2: "positive"}
NER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}

CLS_CALLS = [
    dict(inputs="I loved this movie, it was great!", kwargs={}),
    dict(inputs=["what a boring film", "the weather is fine today"], kwargs={}),
    dict(inputs="the weather is fine today", kwargs={"top_k": None}),
    dict(inputs=["I loved this movie", "what a boring film"], kwargs={"top_k": 2}),
    dict(inputs="I loved this movie", kwargs={"function_to_apply": "sigmoid", "top_k": None}),
    dict(inputs="I loved this movie", kwargs={"function_to_apply": "none", "top_k": 1}),
    dict(inputs={"text": "Is it raining?", "text_pair": "The streets are wet."}, kwargs={}),
    dict(inputs=[{"text": "Is it raining?", "text_pair": "The streets are wet."}], kwargs={"top_k": None}),
]
NER_TEXTS = ["My name is Wolfgang and I live in Berlin.",
             "Café owners in São Paulo met John Smith yesterday.",
             "Hello   world,  in Zürich the end"]
QA_CALLS = [
    dict(question="Where does Wolfgang live?", context="My name is Wolfgang and I live in Berlin.", kwargs={}),
    dict(question="What is the capital of France?",
         context=("Paris is the capital and most populous city of France. It has an estimated population of "
                  "over two million residents. Since the 17th century Paris has been one of the major centres "
                  "of finance, diplomacy, commerce, fashion and science in Europe. The city is a major railway, "
                  "highway and air transport hub served by two international airports."),
         kwargs={"max_seq_len": 48, "doc_stride": 16, "top_k": 3}),
    dict(question="Who met whom?", context="Café owners in São Paulo met John Smith yesterday.",
         kwargs={"top_k": 2, "max_answer_len": 5}),
]
FE_TEXTS = ["Hello world!", "the quick brown fox"]


def perturb_(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            p.add_((0.1 if ("LayerNorm" in name or name.endswith("bias")) else 0.02) * noise)
            p.copy_(p.half().float())  # exactly representable in the float16 files


def build(cls, seed, head_scale=1.0, **extra):
    config = AlbertConfig(attn_implementation="eager", **BASE, **extra)
    torch.manual_seed(seed)
    model = cls(config)
    perturb_(model, seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(("classifier", "qa_outputs")):
                p.mul_(head_scale)
                p.copy_(p.half().float())
    return model.float().eval()


def save(model, name, record):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    model.half().save_pretrained(d)
    model.float()
    record["versions"] = {"transformers": transformers.__version__, "torch": torch.__version__}
    record["spiece"] = "minialbert/bundled/minialbert-default/spiece.model"
    with open(os.path.join(d, "outputs.json"), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1, ensure_ascii=False)
        f.write("\n")


def to_py(x):
    if isinstance(x, dict):
        return {k: to_py(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_py(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def hf4_qa(model, tok, question, context, top_k=1, doc_stride=128, max_answer_len=15, max_seq_len=384,
           max_question_len=64, handle_impossible_answer=False):
    """transformers 4's QuestionAnsweringPipeline (preprocess + postprocess + decode_spans), fast tokenizer."""
    enc = tok(question, context, padding="do_not_pad", truncation="only_second", max_length=max_seq_len,
              stride=min(doc_stride, max_seq_len // 2), return_overflowing_tokens=True, return_offsets_mapping=True,
              return_special_tokens_mask=True, return_token_type_ids=True)
    answers, min_null = [], 1e6
    for i in range(len(enc["input_ids"])):
        ids = torch.tensor([enc["input_ids"][i]])
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                        token_type_ids=torch.tensor([enc["token_type_ids"][i]]))
        start, end = out.start_logits[0].numpy(), out.end_logits[0].numpy()
        seq_ids = enc.sequence_ids(i)
        p_mask = np.array([s != 1 for s in seq_ids])
        p_mask[0] = False  # cls_index: the [CLS] stays un-masked (and scored) as in transformers 4
        undesired = p_mask
        start = np.where(undesired, -10000.0, start)
        end = np.where(undesired, -10000.0, end)
        start = np.exp(start - start.max(-1, keepdims=True)); start /= start.sum()
        end = np.exp(end - end.max(-1, keepdims=True)); end /= end.sum()
        min_null = min(min_null, float(start[0] * end[0]))
        start[0] = end[0] = 0.0
        outer = np.matmul(start[:, None], end[None, :])
        cand = np.tril(np.triu(outer), max_answer_len - 1)
        flat = cand.flatten()
        if top_k == 1:
            idx = [int(np.argmax(flat))]
        elif len(flat) < top_k:
            idx = list(np.argsort(-flat))
        else:
            part = np.argpartition(-flat, top_k)[0:top_k]
            idx = list(part[np.argsort(-flat[part])])
        starts, ends = np.unravel_index(idx, cand.shape)[1:] if cand.ndim == 3 else np.unravel_index(idx, cand.shape)
        offsets = enc["offset_mapping"][i]
        for s, e in zip(starts, ends):
            if p_mask[s] or p_mask[e]:
                continue
            score = float(cand[s, e])
            a, b = offsets[s][0], offsets[e][1]
            answers.append({"score": score, "start": a, "end": b, "answer": context[a:b]})
    answers = sorted(answers, key=lambda x: x["score"], reverse=True)[:top_k]
    return answers[0] if len(answers) == 1 else answers


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    tmp = tempfile.mkdtemp()
    shutil.copyfile(SPIECE, os.path.join(tmp, "spiece.model"))
    tok = AlbertTokenizer.from_pretrained(tmp)  # (needs sentencepiece in this environment to convert the model)
    # transformers 5 dropped token_type_ids from ALBERT's model inputs, so its pipelines would feed a text
    # pair as segment 0 throughout; put them back, as transformers 4 (and the original ALBERT) did.
    tok.model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    assert len(tok) == 30000 and tok.convert_ids_to_tokens(tok("Hello")["input_ids"]) == ["[CLS]", "\u2581hello", "[SEP]"]

    # text classification
    model = build(AlbertForSequenceClassification, 11, head_scale=20.0, num_labels=3, id2label=CLS_LABELS,
                  label2id={v: k for k, v in CLS_LABELS.items()})
    pipe = pipeline("text-classification", model=model, tokenizer=tok)
    calls = [dict(c, output=to_py(pipe(c["inputs"], **c["kwargs"]))) for c in CLS_CALLS]
    save(model, "text-classification", {"calls": calls})

    # token classification
    model = build(AlbertForTokenClassification, 12, head_scale=4.0, num_labels=5, id2label=NER_LABELS,
                  label2id={v: k for k, v in NER_LABELS.items()})
    calls = []
    for strategy in ("none", "simple"):
        pipe = pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy=strategy)
        for t in NER_TEXTS:
            calls.append({"inputs": t, "kwargs": {"aggregation_strategy": strategy}, "output": to_py(pipe(t))})
    tokens = {t: {"input_ids": tok(t)["input_ids"],
                  "offsets": [list(o) for o in tok(t, return_offsets_mapping=True)["offset_mapping"]]}
              for t in NER_TEXTS}
    save(model, "token-classification", {"calls": calls, "hf_tokens": tokens})

    # question answering
    model = build(AlbertForQuestionAnswering, 13, head_scale=10.0)
    calls = []
    for c in QA_CALLS:
        n_windows = len(tok(c["question"], c["context"], truncation="only_second",
                            max_length=c["kwargs"].get("max_seq_len", 384),
                            stride=min(c["kwargs"].get("doc_stride", 128), c["kwargs"].get("max_seq_len", 384) // 2),
                            return_overflowing_tokens=True)["input_ids"])
        calls.append(dict(c, windows=n_windows, output=to_py(hf4_qa(model, tok, c["question"], c["context"],
                                                                     **c["kwargs"]))))
    save(model, "question-answering", {"calls": calls, "reference": "transformers-4 QA pipeline algorithm"})

    # feature extraction
    model = build(AlbertModel, 14)
    pipe = pipeline("feature-extraction", model=model, tokenizer=tok)
    calls = [{"inputs": t, "output": to_py(pipe(t))} for t in FE_TEXTS]
    save(model, "feature-extraction", {"calls": calls})
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
