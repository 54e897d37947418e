"""The pretraining loop: MLM + SOP with the hand-written backward pass.

    minialbert pretrain --corpus data/corpus.txt --eval-corpus data/corpus-heldout.txt \\
        --config configs/tiny.json --out runs/tiny --steps 2000

One step: for each of ``grad_accum`` micro-batches, forward + backward (the
gradients add up in the model's buffers), scale by 1/grad_accum, clip by global
norm, one LAMB (paper §4.1) or AdamW update with the warmup + decay schedule.
On a GPU the step waits for the device once: the loss (summed over the
micro-batches on the device) and the gradient norm come back in one copy.

Checkpoints (``OUT/checkpoints/step-N/``, the newest named in ``OUT/LATEST``; see
checkpoints.py) hold the model (HF safetensors), the optimiser moments, the data
stream's position and the loss history, and survive a kill at any instant. Dropout masks are seeded by (seed, step), so no RNG state is needed:
``--resume`` continues bit for bit, and the loss curve of an interrupted run
equals the uninterrupted one exactly.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from tqdm import tqdm

from .. import backend
from ..config import AlbertConfig
from ..hub import default_model_path, resolve
from ..io import atomic_write, save_pretrained
from ..model import AlbertForPreTraining
from ..ops.losses import IGNORE_INDEX
from ..optim import AdamW, DynamicLossScaler, LAMB, clip_grad_norm, scale_grads, warmup_linear_decay
from ..tokenization import load_tokenizer
from .checkpoints import (corpus_fingerprint, latest_checkpoint, load_checkpoint, read_state, remove_checkpoints,
                          save_checkpoint)
from .masking import PretrainingDataConfig
from .stream import PretrainingBatches

np = backend.numpy


@dataclass
class TrainConfig:
    corpus: str
    out: str
    eval_corpus: Optional[str] = None
    steps: int = 1000
    batch_size: int = 32
    grad_accum: int = 1
    max_seq_length: int = PretrainingDataConfig.max_seq_length              # the data config's defaults
    max_predictions_per_seq: int = PretrainingDataConfig.max_predictions_per_seq
    optimizer: str = "lamb"           # lamb | adamw
    lr: float = 1.76e-3               # the paper's LAMB learning rate (at batch 4096)
    warmup_steps: int = 100
    end_lr: float = 0.0
    decay_power: float = 1.0
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    eval_every: int = 200
    eval_batches: int = 8
    save_every: int = 200
    log_every: int = 10
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"            # float32 | float64 | float16 | bfloat16 (mixed precision: README)
    loss_scale: float = 0.0           # 0: dynamic loss scaling from 2**16 for float16, none otherwise; > 0: dynamic
    #                                   scaling from this value (any dtype)
    loss_scale_window: int = 2000     # finite steps in a row after which the loss scale doubles
    tokenizer: Optional[str] = None   # directory or .model file; default: the bundled vocabulary
    position_init: str = "normal"     # normal | sinusoidal (see sinusoidal_positions)
    init_from: Optional[str] = None   # start from these weights (continued pretraining, as HF's run_mlm.py
    #                                   --model_name_or_path): a model directory or name; fresh optimiser
    extra: Dict = field(default_factory=dict)

    def __post_init__(self):
        """Types and ranges, checked once here (a bad value is one clear line, not a crash at step 1000)."""
        def need(ok, field_, expected):
            if not ok:
                raise ValueError(f"{field_} = {getattr(self, field_)!r}: expected {expected}")
        for f in ("steps", "batch_size", "grad_accum", "max_seq_length", "max_predictions_per_seq",
                  "eval_batches"):
            v = getattr(self, f)
            need(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f, "an integer >= 1")
        for f in ("warmup_steps", "eval_every", "save_every", "log_every", "seed"):
            v = getattr(self, f)
            need(isinstance(v, int) and not isinstance(v, bool) and v >= 0, f, "an integer >= 0")
        for f in ("lr", "end_lr", "weight_decay", "clip_norm", "decay_power"):
            v = getattr(self, f)
            need(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0, f,
                 "a finite number >= 0")
        need(self.optimizer in ("lamb", "adamw"), "optimizer", "'lamb' or 'adamw'")
        need(self.dtype in backend.DTYPES, "dtype", "one of " + ", ".join(sorted(backend.DTYPES)))
        need(isinstance(self.loss_scale, (int, float)) and not isinstance(self.loss_scale, bool)
             and math.isfinite(self.loss_scale) and self.loss_scale >= 0, "loss_scale", "a finite number >= 0")
        need(isinstance(self.loss_scale_window, int) and not isinstance(self.loss_scale_window, bool)
             and self.loss_scale_window >= 1, "loss_scale_window", "an integer >= 1")
        need(self.position_init in ("normal", "sinusoidal"), "position_init", "'normal' or 'sinusoidal'")
        need(self.init_from is None or isinstance(self.init_from, str), "init_from", "a model directory or name")

    def loss_scaler(self) -> Optional[DynamicLossScaler]:
        """The run's dynamic loss scaler, or None (no scaling: float32, float64, bfloat16 by default)."""
        if self.loss_scale == 0 and self.dtype != "float16":
            return None
        return DynamicLossScaler(init_scale=self.loss_scale or 2.0 ** 16, growth_interval=self.loss_scale_window)


# What a resumed run must share with the run that saved the checkpoint: anything else would silently
# train a different run from the saved state. (--steps may grow; logging and saving cadence may change.)
RESUME_FIXED = ("batch_size", "grad_accum", "max_seq_length", "max_predictions_per_seq", "optimizer", "seed",
                "dtype", "position_init", "loss_scale")


def _init_from(model, name_or_path: str, model_config: AlbertConfig) -> None:
    """Copy a saved model's weights into `model` (same config; heads the checkpoint lacks, e.g. SOP
    after an MLM-only model, keep their fresh initialisation, with the loader's warning)."""
    src = AlbertForPreTraining.from_pretrained(resolve(name_or_path), dtype=model.precision, device=model.device)
    mine, theirs = model_config.to_dict(), src.config.to_dict()
    diffs = [f"{k} {theirs.get(k)!r} (--init-from) vs {mine.get(k)!r} (--config)" for k in sorted(mine)
             if k not in ("architectures", "model_type") and mine.get(k) != theirs.get(k)]
    if diffs:
        raise ValueError(f"--init-from {name_or_path}: its config differs from the run's: " + "; ".join(diffs[:6]))
    for k, v in src.params.items():
        model.params[k][...] = v                 # in place: the optimiser built next sees the same arrays


def _check_resume(state: dict, tc: TrainConfig, model_config: AlbertConfig, ck: Path):
    saved = state.get("train_config", {})
    diffs = [f"{k} {saved[k]!r} -> {getattr(tc, k)!r}" for k in RESUME_FIXED
             if k in saved and saved[k] != getattr(tc, k)]
    if "corpus_fingerprint" in state and state["corpus_fingerprint"] != corpus_fingerprint(tc.corpus):
        diffs.append(f"corpus {saved.get('corpus')!r} -> {tc.corpus!r} (different contents)")
    if "model_config" in state:
        mine = model_config.to_dict()
        diffs += [f"model {k} {state['model_config'].get(k)!r} -> {mine.get(k)!r}"
                  for k in sorted(set(mine) | set(state["model_config"])) if state["model_config"].get(k) != mine.get(k)]
    if diffs:
        raise ValueError(f"--resume from {ck}: this run differs from the saved one in " + "; ".join(diffs))
    if tc.steps <= state["step"]:
        raise ValueError(f"--resume from {ck}: the run is already at step {state['step']}; "
                         f"pass --steps above it to train further")


def sinusoidal_positions(P: int, E: int, std: float):
    """(P, E) sinusoids (Vaswani et al., 2017, §3.5) scaled to RMS `std`, as a starting point for
    ALBERT's *learned* absolute position embeddings. With N(0, std) rows there is no relation
    between neighbouring positions, and attention has to discover one before it can read the next
    word; sinusoids give p_i . W p_j a dependence on i - j from step 0. The architecture is
    unchanged: a trainable (P, E) table. (On the bundled model's corpus it did not shorten the MLM
    plateau within 1,000 steps: weights/README.md.)"""
    pos = np.arange(P, dtype=np.float64)[:, None]
    freq = 1.0 / 10000.0 ** (np.arange(0, E, 2, dtype=np.float64) / E)
    table = np.zeros((P, E))
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq[: E // 2])
    return table * (std / np.sqrt((table ** 2).mean()))


def _make_optimizer(tc: TrainConfig, params):
    # float16 / bfloat16: float32 master weights in the optimiser (optim.py), the model's params refreshed
    precision = tc.dtype if tc.dtype in backend.LOW_PRECISIONS else None
    if tc.optimizer == "lamb":
        return LAMB(params, lr=tc.lr, weight_decay=tc.weight_decay, precision=precision)
    if tc.optimizer == "adamw":
        return AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay, precision=precision)
    raise ValueError(f"optimizer {tc.optimizer!r}: expected 'lamb' or 'adamw'")


def evaluate(model, batches, n_batches: int) -> Dict[str, float]:
    """MLM accuracy (over labelled positions) and SOP accuracy on held-out batches."""
    was_training = model.training
    model.eval()
    mlm_ok = mlm_n = sop_ok = sop_n = 0
    loss_sum = 0.0
    for i, batch in enumerate(batches):
        if i >= n_batches:
            break
        out = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                    labels=batch["labels"], sentence_order_label=batch["sentence_order_label"])
        labels = batch["labels"].reshape(-1)
        sel = labels != IGNORE_INDEX
        logits = out["prediction_logits"]
        pred = backend.to_numpy(logits.argmax(-1)).reshape(-1)   # the argmax on the device: ids cross, not logits
        if logits.shape[0] != sel.size:   # mlm_labelled_only: logits exist only at labelled positions
            mlm_ok += int((pred == labels[sel]).sum())
        else:
            mlm_ok += int((pred[sel] == labels[sel]).sum())
        mlm_n += int(sel.sum())
        sop = backend.to_numpy(out["sop_logits"].argmax(-1))
        sop_ok += int((sop == batch["sentence_order_label"]).sum())
        sop_n += sop.size
        loss_sum += float(out["loss"])
    model.train(was_training)
    n = max(1, min(n_batches, i + 1))
    return {"mlm_accuracy": mlm_ok / max(1, mlm_n), "sop_accuracy": sop_ok / max(1, sop_n), "eval_loss": loss_sum / n}


HELDOUT_SEED = 12345    # the held-out stream's seed: every evaluation of a run sees the same batches


def load_for_eval(model_dir):
    """A saved model (MLM head at labelled positions only) and its tokenizer, for held-out evaluation."""
    model = AlbertForPreTraining.from_pretrained(model_dir)
    model.mlm_labelled_only = True
    return model, load_tokenizer(model_dir)


def heldout_batches(text, tok, train_config: dict) -> PretrainingBatches:
    """Held-out `text` batched and masked as the run that trained the model (its train_config: batch
    size, sequence length, predictions per sequence), with the trainer's held-out seed."""
    dcfg = PretrainingDataConfig(max_seq_length=train_config["max_seq_length"],
                                 max_predictions_per_seq=train_config["max_predictions_per_seq"])
    return PretrainingBatches(text, tok, dcfg, train_config["batch_size"], seed=HELDOUT_SEED)


def evaluate_saved(model_dir, text, train_config: dict, n_batches: int) -> Dict[str, float]:
    """`evaluate` for a saved model on held-out `text` (heldout_batches)."""
    model, tok = load_for_eval(model_dir)
    return evaluate(model, heldout_batches(text, tok, train_config), n_batches)


def plot_history(history: List[dict], evals: List[dict], path: Path):
    try:
        from matplotlib.figure import Figure   # no pyplot: the caller's backend (e.g. a notebook's) is left alone
    except ImportError:
        return None
    fig = Figure(figsize=(10, 3.8))
    ax = fig.subplots(1, 2)
    steps = [h["step"] for h in history]
    ax[0].plot(steps, [h["loss"] for h in history], lw=1, label="train loss (MLM + SOP)")
    if evals:
        ax[0].plot([e["step"] for e in evals], [e["eval_loss"] for e in evals], "o-", label="held-out loss")
    ax[0].set_xlabel("step")
    ax[0].set_ylabel("loss")
    ax[0].set_title("Pretraining loss")
    ax[0].legend()
    if evals:
        ax[1].plot([e["step"] for e in evals], [e["mlm_accuracy"] for e in evals], "o-", label="MLM accuracy")
        ax[1].plot([e["step"] for e in evals], [e["sop_accuracy"] for e in evals], "s-", label="SOP accuracy")
        ax[1].set_ylim(0, 1)
        ax[1].legend()
    ax[1].set_xlabel("step")
    ax[1].set_ylabel("held-out accuracy")
    ax[1].set_title("Held-out accuracy")
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    return path


def _tokenizer(tc: TrainConfig):
    if tc.tokenizer:
        return load_tokenizer(tc.tokenizer)
    # The bundled model's vocabulary is the official ALBERT 30k SentencePiece model (package data).
    return load_tokenizer(default_model_path() / "spiece.model")


def pretrain(model_config: AlbertConfig, tc: TrainConfig, resume: bool = False, progress: bool = True,
             stop_after: Optional[int] = None, overwrite: bool = False):
    """Train; returns (model, history, evals). stop_after: stop (after saving) at that step,
    as if interrupted. A run directory that already holds a checkpoint is continued with resume=True
    or started afresh with overwrite=True (its checkpoints deleted), never silently overwritten."""
    out = Path(tc.out)
    if not resume and latest_checkpoint(out) is not None:
        if not overwrite:
            raise FileExistsError(f"{out} already holds a run (checkpoint {latest_checkpoint(out).name}): "
                                  "pass --resume to continue it or --overwrite to start again")
        remove_checkpoints(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(tc)
    if model_config.vocab_size != tok.vocab_size:
        raise ValueError(f"config vocab_size {model_config.vocab_size} != tokenizer's {tok.vocab_size}")
    dcfg = PretrainingDataConfig(max_seq_length=tc.max_seq_length, max_predictions_per_seq=tc.max_predictions_per_seq)
    batches = PretrainingBatches(tc.corpus, tok, dcfg, tc.batch_size, seed=tc.seed)
    model = AlbertForPreTraining(model_config, seed=tc.seed, dtype=tc.dtype, device=tc.device).train()
    if tc.init_from and not resume:
        _init_from(model, tc.init_from, model_config)
    model.mlm_labelled_only = True
    if tc.position_init == "sinusoidal":
        name = model.base_prefix + "embeddings.position_embeddings.weight"
        w = model.params[name]
        w[...] = backend.to_device(sinusoidal_positions(*w.shape, model_config.initializer_range).astype(w.dtype),
                                   model.device)
    elif tc.position_init != "normal":
        raise ValueError(f"position_init {tc.position_init!r}: expected 'normal' or 'sinusoidal'")
    opt = _make_optimizer(tc, model.params)
    scaler = tc.loss_scaler()      # float16: dynamic loss scaling (skipped steps halve the scale)
    history, evals, step = [], [], 0
    if resume:
        ck = latest_checkpoint(out)
        if ck is None:
            raise FileNotFoundError(f"--resume: no complete checkpoint in {out}")
        _check_resume(read_state(ck), tc, model_config, ck)        # before any tensor is read
        state = load_checkpoint(ck, model, opt, batches)
        step, history, evals = state["step"], state["history"], state["evals"]
        if scaler is not None and state.get("loss_scaler") is not None:
            scaler.load_state_dict(state["loss_scaler"])
    if stop_after is not None and not step < stop_after <= tc.steps:
        raise ValueError(f"stop at step {stop_after}: the run is at step {step} and ends at {tc.steps}")
    atomic_write(out / "train_config.json", [json.dumps(asdict(tc), indent=1).encode()])
    atomic_write(out / "model_config.json", [(json.dumps(model_config.to_dict(), indent=2) + "\n").encode()])
    fingerprint = corpus_fingerprint(tc.corpus)
    it = iter(batches)

    def eval_now():
        if not tc.eval_corpus:
            return None
        eb = PretrainingBatches(tc.eval_corpus, tok, dcfg, tc.batch_size, seed=HELDOUT_SEED)
        r = evaluate(model, eb, tc.eval_batches)
        r["step"] = step
        evals.append(r)
        return r

    bar = None
    if progress:
        bar = tqdm(total=tc.steps, initial=step, unit="step", dynamic_ncols=True)
    t0, tokens = time.time(), 0
    while step < tc.steps:
        lr = warmup_linear_decay(step, tc.steps, tc.warmup_steps, tc.lr, tc.end_lr, tc.decay_power,
                                 decay_after_warmup=True)
        model.zero_grad()
        loss_sum = None     # the step's loss, kept on the device: summed there in float64, read once below
        for micro in range(tc.grad_accum):
            batch = next(it)
            model.manual_seed(tc.seed * 1_000_003 + step * 97 + micro)   # dropout masks fixed by the step
            o = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                      labels=batch["labels"], sentence_order_label=batch["sentence_order_label"])
            model.backward(loss_scale=scaler.scale if scaler is not None else 1.0)
            part = model.xp.asarray(o["loss"]).astype(np.float64) / tc.grad_accum
            loss_sum = part if loss_sum is None else loss_sum + part
            tokens += int(batch["attention_mask"].sum())                 # a host array: no sync
        grads = model.grads()
        if scaler is not None:
            scaler.unscale_(grads)          # exact: the scale is a power of two
        if tc.grad_accum > 1:
            scale_grads(grads, 1.0 / tc.grad_accum)
        gnorm = clip_grad_norm(grads, tc.clip_norm, as_array=True) if tc.clip_norm else None
        if gnorm is None and scaler is not None:     # the scaler needs the norm's finiteness: measured, not clipped
            gnorm = clip_grad_norm(grads, math.inf, as_array=True)
        # The step's one host sync: the loss (and the gradient norm) in one device -> host copy.
        logged = backend.to_numpy(model.xp.stack([loss_sum, gnorm]) if gnorm is not None else loss_sum)
        loss = float(logged.reshape(-1)[0])
        gnorm = float(logged[1]) if gnorm is not None else float("nan")
        if not math.isfinite(loss):
            last = latest_checkpoint(out)
            raise FloatingPointError(f"step {step + 1}: the loss is {loss}; stopped without saving "
                                     + (f"(the last good checkpoint, {last}, is kept)" if last else "(no checkpoint yet)")
                                     + "; try a lower --lr or a longer --warmup")
        record = {}
        if scaler is not None:
            # dynamic loss scaling: a non-finite gradient skips the update (the step still counts: the data
            # and the schedule move on, as in PyTorch's GradScaler) and halves the scale
            record["loss_scale"] = scaler.scale
            apply = scaler.update(math.isfinite(gnorm))
            if not apply:
                record["skipped"] = True
        elif tc.clip_norm and not math.isfinite(gnorm):
            raise FloatingPointError(f"step {step + 1}: the gradient norm is {gnorm}; stopped without saving "
                                     f"(the last good checkpoint, {latest_checkpoint(out)}, is kept)")
        else:
            apply = True
        if apply:
            opt.step(grads, lr=lr)
        step += 1
        history.append({"step": step, "loss": loss, "lr": lr, "grad_norm": gnorm, **record})
        if bar is not None:
            bar.update(1)
            if step % tc.log_every == 0 or step == tc.steps:
                bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{tokens / (time.time() - t0):.0f}")
        if tc.eval_every and step % tc.eval_every == 0:
            r = eval_now()
            if r and bar is not None:
                bar.write(f"step {step}: held-out MLM acc {r['mlm_accuracy']:.3f}, SOP acc {r['sop_accuracy']:.3f}, "
                          f"loss {r['eval_loss']:.3f}")
        done = step == tc.steps or (stop_after is not None and step == stop_after)
        if (tc.save_every and step % tc.save_every == 0) or done:
            save_checkpoint(out, model, opt, batches,
                            {"step": step, "history": history, "evals": evals, "train_config": asdict(tc),
                             "model_config": model_config.to_dict(), "corpus_fingerprint": fingerprint,
                             **({"loss_scaler": scaler.state_dict()} if scaler is not None else {})},
                            tokenizer=tok)
            plot_history(history, evals, out / "loss.png")
        if step == tc.steps:         # the finished model in OUT itself, as HF's Trainer.save_model does
            save_pretrained(model, out)
            tok.save_pretrained(out)
        if done:
            break
    if bar is not None:
        bar.close()
    return model, history, evals
