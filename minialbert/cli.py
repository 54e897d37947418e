"""The `minialbert` command line (also `python -m minialbert`).

Every user error (a bad path, a corrupt file, a text that does not fit) ends in
one line on stderr and a non-zero exit, never a traceback; an unexpected error too
(`--debug` shows its traceback). Output cut short by the reader (`| head`) ends quietly.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

from . import backend
from .auto import convert, load_model
from .config import AlbertConfig
from .hub import DEFAULT_MODEL_NAME, default_model_summary, download_model, resolve
from .io import CheckpointError
from .model.trace import save_trace
from .pipeline import pipeline
from .tokenization import load_tokenizer
from .version import __version__
from .training.finetune import FinetuneConfig, finetune
from .training.checkpoints import latest_checkpoint
from .training.pretrain import TrainConfig, pretrain

EXIT_USER_ERROR = 2


class UserError(Exception):
    """An error whose message is the whole story (printed without a traceback)."""


def cmd_trace(args):
    model = load_model(args.model, dtype=args.dtype)
    if args.ids:
        parts = args.ids.replace(",", " ").split()
        if not parts or not all(t.isascii() and t.isdigit() and len(t) <= 18 for t in parts):
            raise UserError(f"--ids {args.ids!r}: expected token ids, non-negative integers separated by commas")
        ids = backend.numpy.array([[int(t) for t in parts]])
    else:
        if not args.text:
            raise UserError("give --text (with a tokenizer in the model folder or --tokenizer) or --ids")
        try:
            tok = load_tokenizer(args.tokenizer or args.model)
        except (FileNotFoundError, ValueError) as e:
            raise UserError(f"{e} (pass --tokenizer DIR, or --ids)")
        ids = tok(args.text, return_tensors="np")["input_ids"]
    out = model(ids, trace=True)
    upstream = None
    if not args.no_backward:
        # d(sum(output * R))/d(.) with a seeded random R: a gradient every
        # activation receives, reproducible from the seed and saved beside it.
        main = next(k for k in ("logits", "prediction_logits", "start_logits", "last_hidden_state") if k in out)
        rng = backend.numpy.random.default_rng(args.seed)
        upstream = {main: rng.standard_normal(out[main].shape)}
        model.backward(**upstream)
    keys = save_trace(model, args.out, inputs={"input_ids": ids}, upstream=upstream)
    print(f"wrote {len(keys)} arrays to {args.out} ({sum(k.startswith('act/') for k in keys)} activations, "
          f"{sum(k.startswith('grad/') for k in keys)} gradients)")


def _print_table(text, res):
    per_mask = res if res and isinstance(res[0], list) else [res]
    print(text)
    for m, preds in enumerate(per_mask):
        if len(per_mask) > 1:
            print(f"  [MASK] #{m + 1} of {len(per_mask)}")
        print(f"  {'rank':>4}  {'score':>8}  {'token':>6}  {'token_str':<16} sequence")
        for r, p in enumerate(preds, 1):
            seq = p["sequence"]
            if len(per_mask) > 1:   # several masks: HF's string keeps [CLS]/[SEP] and glues [MASK] on; the
                # table shows this mask's word with the others as a spaced " [MASK] " (the JSON keeps HF's string)
                seq = seq.replace("[CLS]", " ").replace("[SEP]", " ")
                seq = " ".join(re.sub(r"\[MASK\]", " [MASK] ", seq).split())
            print(f"  {r:>4}  {p['score']:8.4f}  {p['token']:>6}  {p['token_str']:<16} {seq}")
    print()


def cmd_fill_mask(args):
    _check_device(args.device)
    if args.model is None and not args.quiet:
        # As HF's pipeline does when it falls back to a default model: say which one, and how to get another.
        print(f"minialbert: no --model given, using the bundled {DEFAULT_MODEL_NAME}: {default_model_summary()}. "
              "For a released ALBERT: `minialbert download albert-base-v2`, then --model albert-base-v2 "
              "(--quiet hides this line).", file=sys.stderr)
    fill = pipeline("fill-mask", model=args.model, tokenizer=args.tokenizer, device=args.device, top_k=args.top_k,
                    batch_size=args.batch_size, targets=args.targets)
    texts = _task_texts(args, " with [MASK]")
    _stream(fill.iter_results(texts, truncate=args.truncate), args, _print_table,   # as each micro-batch ends
            lambda t: fill(t, truncate=args.truncate))


def _device_arg(text):
    """--device: cpu, cuda (the current GPU) or cuda:N."""
    try:
        return backend.normalize_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _check_device(device):
    """A GPU device that does not work (cupy missing or broken, no GPU, no device N, a failed test
    computation) is one line saying why, before any model is read."""
    if device != "cpu":
        why = backend.cuda_status(device)
        if why:
            raise UserError(f"--device {device}: {why}")


def _task_pipeline(task, args, **kwargs):
    _check_device(args.device)
    return pipeline(task, model=args.model, tokenizer=args.tokenizer, device=args.device,
                    batch_size=args.batch_size, **kwargs)


def _task_texts(args, kind=""):
    """The texts: the arguments, or standard input read lazily (one text a line, blank lines skipped)."""
    if args.text:
        return list(args.text)
    if sys.stdin is None or sys.stdin.isatty():
        raise UserError(f"give one or more texts{kind}, or pipe them in, one per line")
    return (line.rstrip("\n") for line in sys.stdin if line.strip())


def _stream(pairs, args, show, call=None):
    """Print (input, result) pairs as they come: a JSON array written item by item (--json), else tables.
    One text given as an argument with --json: what the pipeline's call returns for it (call(text)), as HF."""
    if args.json and call is not None and isinstance(args.text, list) and len(args.text) == 1:
        print(json.dumps(call(args.text[0]), ensure_ascii=False, indent=1))
        return
    n = 0
    for item, res in pairs:
        if args.json:
            print(("[" if n == 0 else ",") + json.dumps(res, ensure_ascii=False))
        else:
            show(item, res)
        n += 1
        sys.stdout.flush()
    if n == 0:
        raise UserError("no text on standard input")
    if args.json:
        print("]")


def _top_k_arg(value):
    if value == "all":
        return value
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a positive integer or 'all'") from None
    if k < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a positive integer or 'all'")
    return k


def cmd_text_classification(args):
    clf = _task_pipeline("text-classification", args)
    texts = _task_texts(args)
    if args.pair is not None:
        texts = ({"text": t, "text_pair": args.pair} for t in texts)
    kw = dict(function_to_apply=args.function, truncation=args.truncate)
    if args.top_k is not None:   # not given: the top label as a dict, as HF
        kw["top_k"] = None if args.top_k == "all" else args.top_k

    def show(item, res):
        print(item if isinstance(item, str) else f"{item['text']}  ||  {item['text_pair']}")
        for r in (res if isinstance(res, list) else [res]):
            print(f"  {r['score']:10.4f}  {r['label']}")
        print()
    one = (lambda t: clf({"text": t, "text_pair": args.pair} if args.pair is not None else t, **kw))
    _stream(clf.iter_results(texts, **kw), args, show, one)


def cmd_token_classification(args):
    ner = _task_pipeline("token-classification", args, aggregation_strategy=args.aggregation)

    def show(text, res):
        print(text)
        for e in res:
            label = e.get("entity_group", e.get("entity"))
            where = f"{e['start']}:{e['end']}"
            print(f"  {label:<12} {e['score']:8.4f}  {where:>9}  {text[e['start']:e['end']]!r}"
                  + (f"  (token {e['index']}: {e['word']})" if "index" in e else ""))
        print()
    _stream(ner.iter_results(_task_texts(args), truncation=args.truncate), args, show,
            lambda t: ner(t, truncation=args.truncate))


def cmd_question_answering(args):
    context = args.context
    if context is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UserError("give --context TEXT, or pipe the context in")
        context = sys.stdin.read()
    if not context.strip():
        raise UserError("the context is empty")
    qa = _task_pipeline("question-answering", args, max_answer_len=args.max_answer_len,
                        max_seq_len=args.max_seq_len, doc_stride=args.doc_stride)
    questions = args.question

    def show(item, res):
        print(item[0])
        for r in (res if isinstance(res, list) else [res]):
            print(f"  {r['score']:10.4f}  {r['start']}:{r['end']}  {r['answer']!r}")
        print()
    pairs = qa.iter_results([(q, context) for q in questions], top_k=args.top_k)
    if args.json and len(questions) == 1:
        print(json.dumps(next(pairs)[1], ensure_ascii=False, indent=1))
        return
    _stream(pairs, args, show)


def cmd_feature_extraction(args):
    if args.model is None and not args.quiet:
        print(f"minialbert: no --model given, using the bundled {DEFAULT_MODEL_NAME} (--quiet hides this line).",
              file=sys.stderr)
    fe = _task_pipeline("feature-extraction", args)

    def show(text, res):
        h = res[0]
        print(f"{text}\n  {len(h)} tokens x {len(h[0]) if h else 0} features; [CLS]: "
              + " ".join(f"{x:.4f}" for x in h[0][:6]) + (" ..." if h and len(h[0]) > 6 else ""))
    _stream(fe.iter_results(_task_texts(args), truncation=args.truncate), args, show,
            lambda t: fe(t, truncation=args.truncate))


def cmd_download(args):
    for name in args.names:
        path = download_model(name)
        print(f"{name}: {path}")


def cmd_convert(args):
    out = convert(args.src, args.dst, model_class=args.model_class, overwrite=args.overwrite)
    print(f"wrote {out}")


def _need_file(flag, path, what="a text file"):
    """A path argument that must name a regular file (a directory or a FIFO is one clear error)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{flag} {path}: no such file")
    if p.is_dir():
        raise UserError(f"{flag} {path}: a directory; expected {what}")
    if not p.is_file():
        raise UserError(f"{flag} {path}: not a regular file; expected {what}")


def _need_file_or_dir(flag, path):
    """A path argument that may name a file or a directory (a tokenizer), but nothing else."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{flag} {path}: no such file or directory")
    if not (p.is_file() or p.is_dir()):
        raise UserError(f"{flag} {path}: neither a regular file nor a directory")


def _need_output_dir(flag, path):
    """An output directory argument: checked before any work, so a long run does not end unable to save."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{flag} {path}: exists and is not a directory; expected an output directory")


def cmd_pretrain(args):
    _need_file("--corpus", args.corpus)
    if args.eval_corpus is not None:
        _need_file("--eval-corpus", args.eval_corpus)
    if args.tokenizer is not None:
        _need_file_or_dir("--tokenizer", args.tokenizer)
    _need_output_dir("--out", args.out)
    _check_device(args.device)
    if args.config is None and args.init_from is None:
        raise ValueError("pretrain needs --config (a new model) or --init-from (continue a saved one)")
    cfg = AlbertConfig.from_json_file(args.config if args.config else Path(resolve(args.init_from)) / "config.json")
    tc = TrainConfig(init_from=args.init_from, corpus=args.corpus, out=args.out, eval_corpus=args.eval_corpus, steps=args.steps,
                     batch_size=args.batch_size, grad_accum=args.grad_accum, max_seq_length=args.seq_len,
                     max_predictions_per_seq=args.max_predictions, optimizer=args.optimizer, lr=args.lr,
                     warmup_steps=args.warmup, weight_decay=args.weight_decay, clip_norm=args.clip_norm,
                     eval_every=args.eval_every, eval_batches=args.eval_batches, save_every=args.save_every,
                     seed=args.seed, device=args.device, tokenizer=args.tokenizer, position_init=args.position_init,
                     dtype=args.dtype, loss_scale=args.loss_scale, loss_scale_window=args.loss_scale_window)
    model, history, evals = pretrain(cfg, tc, resume=args.resume, stop_after=args.stop_at, overwrite=args.overwrite)
    last = evals[-1] if evals else {}
    print(f"done: {len(history)} steps, final loss {history[-1]['loss']:.4f}"
          + (f", held-out MLM acc {last['mlm_accuracy']:.3f}, SOP acc {last['sop_accuracy']:.3f}" if last else "")
          + f"; checkpoint in {latest_checkpoint(args.out)}")


def cmd_finetune(args):
    _need_output_dir("--out", args.out)
    _check_device(args.device)
    fc = FinetuneConfig(model=args.model, train=args.train, eval=args.eval, out=args.out, epochs=args.epochs,
                        batch_size=args.batch_size, lr=args.lr, max_length=args.max_length,
                        regression=args.regression, seed=args.seed, device=args.device, tokenizer=args.tokenizer)
    _, result = finetune(fc)
    print("done: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items())
          + f"; model in {args.out}")


class _Help(argparse.HelpFormatter):
    """--help shows each option's default (where it has one worth showing)."""

    def _get_help_string(self, action):
        h = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in h and action.option_strings:
            h += (" " if h else "") + "(default: %(default)s)"
        return h


def _default(dc, name):
    """A dataclass field's default: the CLI takes every default from the config dataclasses (one source)."""
    return dc.__dataclass_fields__[name].default


def build_parser():
    T, F = TrainConfig, FinetuneConfig
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    ap = argparse.ArgumentParser(prog="minialbert", description="ALBERT in NumPy: fill-mask, tracing, checkpoints",
                                 formatter_class=_Help, parents=[common])
    ap.add_argument("--version", action="version", version=f"minialbert {__version__}")
    subparsers = ap.add_subparsers(dest="command", required=True)

    class sub:  # every subcommand shows its defaults in --help and takes --debug
        @staticmethod
        def add_parser(name, **k):
            return subparsers.add_parser(name, formatter_class=_Help, parents=[common], **k)

    t = sub.add_parser("trace", help="save every intermediate activation (and its gradient) to one .npz")
    t.add_argument("--model", required=True, help="checkpoint directory")
    t.add_argument("--text", help="input text")
    t.add_argument("--ids", help="input token ids instead of text, e.g. '2,48,4,3'")
    t.add_argument("--tokenizer", help="tokenizer directory or .model file (default: the model directory)")
    t.add_argument("--out", required=True, help="output .npz")
    t.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    t.add_argument("--seed", type=int, default=0, help="seed of the random upstream gradient")
    t.add_argument("--no-backward", action="store_true", help="activations only")
    t.set_defaults(func=cmd_trace)

    f = sub.add_parser("fill-mask", help="predict the [MASK] tokens of one or more texts")
    f.add_argument("text", nargs="*", help="texts with [MASK] (read from stdin, one per line, when none)")
    f.add_argument("--model", default=None,
                   help="checkpoint directory or released name (default: the bundled model)")
    f.add_argument("--tokenizer", help="tokenizer directory or .model file (default: the model's own)")
    f.add_argument("--top-k", type=int, default=5)
    f.add_argument("--json", action="store_true", help="print the pipeline's JSON")
    f.add_argument("--device", default="cpu", type=_device_arg, metavar="cpu|cuda|cuda:N")
    f.add_argument("--truncate", action="store_true", help="cut texts longer than the model takes")
    f.add_argument("--quiet", action="store_true", help="no note on stderr about the bundled model")
    f.add_argument("--batch-size", type=int, default=8, help="texts per forward pass (bounds the memory)")
    f.add_argument("--targets", nargs="+", metavar="WORD", help="score only these words (as HF's targets=)")
    f.set_defaults(func=cmd_fill_mask)

    def task_parser(name, help, model_help="checkpoint directory of a model with this head", model_required=True,
                    texts=True):
        q = sub.add_parser(name, help=help)
        if texts:
            q.add_argument("text", nargs="*", help="texts (read from stdin, one per line, when none)")
        q.add_argument("--model", required=model_required, default=None, help=model_help)
        q.add_argument("--tokenizer", help="tokenizer directory or .model file (default: the model's own)")
        q.add_argument("--json", action="store_true", help="print the pipeline's JSON")
        q.add_argument("--device", default="cpu", type=_device_arg, metavar="cpu|cuda|cuda:N")
        q.add_argument("--batch-size", type=int, default=8, help="texts (QA: windows) per forward pass")
        if texts:
            q.add_argument("--truncate", action="store_true", help="cut texts longer than the model takes")
        return q

    c = task_parser("text-classification", "classify texts (or text pairs) with a sequence-classification model")
    c.add_argument("--pair", help="the second text of a pair, for every text")
    c.add_argument("--top-k", type=_top_k_arg, default=None,
                   help="labels per text, best first, or 'all' (default: the top label, as HF)")
    c.add_argument("--function", choices=["softmax", "sigmoid", "none"],
                   help="function applied to the logits (default: by problem_type / num_labels, as HF)")
    c.set_defaults(func=cmd_text_classification)

    c = task_parser("token-classification", "label the tokens of texts (NER) with a token-classification model")
    c.add_argument("--aggregation", default="none", choices=["none", "simple"],
                   help="none: every token; simple: adjacent tokens of one entity merged")
    c.set_defaults(func=cmd_token_classification)

    c = task_parser("question-answering", "find the answer span of a question in a context", texts=False)
    c.add_argument("--question", required=True, action="append", help="a question (repeat for several)")
    c.add_argument("--context", help="the context (read from stdin when not given)")
    c.add_argument("--top-k", type=int, default=1, help="answers per question")
    c.add_argument("--max-answer-len", type=int, default=15, help="tokens")
    c.add_argument("--max-seq-len", type=int, default=None,
                   help="tokens per window (default: 384, or the model's max_position_embeddings if less)")
    c.add_argument("--doc-stride", type=int, default=None,
                   help="tokens shared by consecutive windows (default: 128, at most max-seq-len / 2)")
    c.set_defaults(func=cmd_question_answering)

    c = task_parser("feature-extraction", "the last hidden state of texts, (1, T, H) per text",
                    model_help="checkpoint directory or released name (default: the bundled model)",
                    model_required=False)
    c.add_argument("--quiet", action="store_true", help="no note on stderr about the bundled model")
    c.set_defaults(func=cmd_feature_extraction)

    p = sub.add_parser("pretrain", help="pretrain (MLM + SOP) from a plain-text corpus")
    p.add_argument("--corpus", required=True, help="one sentence/paragraph a line, blank line between documents")
    p.add_argument("--eval-corpus", help="held-out text for MLM/SOP accuracy")
    p.add_argument("--config", help="model config.json (default with --init-from: that model's)")
    p.add_argument("--init-from", metavar="MODEL", help="start from a saved model's weights (directory or name) "
                   "with a fresh optimiser: continued pretraining")
    p.add_argument("--out", required=True, help="output directory (checkpoints/, LATEST, loss.png)")
    p.add_argument("--tokenizer", help="spiece.model (default: the bundled model's, the official ALBERT 30k vocabulary)")
    p.add_argument("--steps", type=int, default=_default(T, "steps"))
    p.add_argument("--batch-size", type=int, default=_default(T, "batch_size"))
    p.add_argument("--grad-accum", type=int, default=_default(T, "grad_accum"))
    p.add_argument("--seq-len", type=int, default=_default(T, "max_seq_length"))
    p.add_argument("--max-predictions", type=int, default=_default(T, "max_predictions_per_seq"))
    p.add_argument("--optimizer", default=_default(T, "optimizer"), choices=["lamb", "adamw"])
    p.add_argument("--lr", type=float, default=_default(T, "lr"))
    p.add_argument("--warmup", type=int, default=_default(T, "warmup_steps"))
    p.add_argument("--weight-decay", type=float, default=_default(T, "weight_decay"))
    p.add_argument("--clip-norm", type=float, default=_default(T, "clip_norm"))
    p.add_argument("--eval-every", type=int, default=_default(T, "eval_every"))
    p.add_argument("--eval-batches", type=int, default=_default(T, "eval_batches"))
    p.add_argument("--save-every", type=int, default=_default(T, "save_every"))
    p.add_argument("--seed", type=int, default=_default(T, "seed"))
    p.add_argument("--position-init", default=_default(T, "position_init"), choices=["normal", "sinusoidal"],
                   help="initial position embeddings (still learned): N(0, initializer_range) as HF, or "
                        "sinusoids of the same scale (gives attention a relative-position signal from step 0)")
    p.add_argument("--device", default="cpu", type=_device_arg, metavar="cpu|cuda|cuda:N")
    p.add_argument("--dtype", default=_default(T, "dtype"), choices=["float32", "float64", "float16", "bfloat16"],
                   help="float16 / bfloat16: mixed precision (low-precision storage, float32 accumulation and master "
                        "weights; bfloat16 is emulated by rounding float32: README)")
    p.add_argument("--loss-scale", type=float, default=_default(T, "loss_scale"),
                   help="initial dynamic loss scale; 0: 2**16 with --dtype float16, no scaling otherwise")
    p.add_argument("--loss-scale-window", type=int, default=_default(T, "loss_scale_window"),
                   help="finite steps in a row after which the loss scale doubles")
    p.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint in OUT")
    p.add_argument("--overwrite", action="store_true", help="start afresh in an OUT that already holds a run")
    p.add_argument("--stop-at", type=int, metavar="STEP",
                   help="save and stop at STEP as if interrupted (the schedule is still --steps'); "
                        "continue with --resume, e.g. to split a long run across sessions")
    p.set_defaults(func=cmd_pretrain)

    ft = sub.add_parser("finetune", help="fine-tune a sequence classifier on a CSV/TSV (text[, text_pair], label)")
    ft.add_argument("--model", required=True, help="checkpoint directory or released name")
    ft.add_argument("--train", required=True)
    ft.add_argument("--eval")
    ft.add_argument("--out", required=True)
    ft.add_argument("--tokenizer")
    ft.add_argument("--epochs", type=int, default=_default(F, "epochs"))
    ft.add_argument("--batch-size", type=int, default=_default(F, "batch_size"))
    ft.add_argument("--lr", type=float, default=_default(F, "lr"))
    ft.add_argument("--max-length", type=int, default=_default(F, "max_length"))
    ft.add_argument("--regression", action="store_true")
    ft.add_argument("--seed", type=int, default=_default(F, "seed"))
    ft.add_argument("--device", default="cpu", type=_device_arg, metavar="cpu|cuda|cuda:N")
    ft.set_defaults(func=cmd_finetune)

    d = sub.add_parser("download", help="download released checkpoints or any Hub ALBERT into the Hugging Face cache")
    d.add_argument("names", nargs="+", help="released names or Hub repo ids, e.g. albert-base-v2 "
                   "albert/albert-large-v2 textattack/albert-base-v2-SST-2")
    d.set_defaults(func=cmd_download)

    c = sub.add_parser("convert", help="write any supported checkpoint as an HF safetensors directory")
    c.add_argument("src", help="checkpoint directory (HF or Google TF) or released name")
    c.add_argument("dst", help="output directory")
    c.add_argument("--model-class", default=None, help="e.g. AlbertForPreTraining (default: from the checkpoint)")
    c.add_argument("--overwrite", action="store_true", help="replace a DST that already holds files")
    c.set_defaults(func=cmd_convert)
    for parser in [ap, *subparsers.choices.values()]:
        for action in parser._actions:
            if action.help is None and action.option_strings and action.default not in (None, False):
                action.help = "default: %(default)s"
    return ap


EXPECTED_ERRORS = (UserError, CheckpointError, OSError, ValueError, RuntimeError, FloatingPointError, TypeError)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if text else type(e).__name__


def main(argv=None):
    args = build_parser().parse_args(argv)

    def show_warning(message, category, filename, lineno, file=None, line=None):   # one line, like an error
        if args.debug:
            default_show(message, category, filename, lineno, file, line)
        else:
            print(f"minialbert {args.command}: warning: {_one_line(message)}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            default_show = warnings.showwarning
            warnings.showwarning = show_warning
            args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`minialbert fill-mask ... | head`): stop quietly, as Unix tools do.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141                                           # 128 + SIGPIPE
    except KeyboardInterrupt:
        return 130
    except EXPECTED_ERRORS as e:
        if args.debug:
            raise
        print(f"minialbert {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as e:          # the last resort: still one line, and the way to see more
        if args.debug:
            raise
        print(f"minialbert {args.command}: error: unexpected {type(e).__name__}: {_one_line(e)} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
