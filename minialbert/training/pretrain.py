"""The pretraining loop: MLM + SOP with the hand-written backward pass.

    minialbert pretrain --corpus data/pydocs.txt --eval-corpus data/pydocs-heldout.txt \\
        --config configs/tiny.json --out runs/tiny --steps 2000

One step: for each of ``grad_accum`` micro-batches, forward + backward (the
gradients add up in the model's buffers), scale by 1/grad_accum, clip by global
norm, one LAMB (paper §4.1) or AdamW update with the warmup + decay schedule.

Checkpoints (``OUT/checkpoint/``) hold the model (HF safetensors), the optimiser
moments, the data stream's position and the loss history, and are replaced
atomically. Dropout masks are seeded by (seed, step), so no RNG state is needed:
``--resume`` continues bit for bit, and the loss curve of an interrupted run
equals the uninterrupted one exactly.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from tqdm import tqdm

from .. import backend
from ..io import atomic_write, load_state_dict_into, read_safetensors, save_pretrained
from ..config import AlbertConfig
from ..hub import default_model_path
from ..model import AlbertForPreTraining
from ..ops.losses import IGNORE_INDEX
from ..optim import AdamW, LAMB, clip_grad_norm, scale_grads, warmup_linear_decay
from ..tokenization import load_tokenizer
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
    dtype: str = "float32"
    tokenizer: Optional[str] = None   # directory or .model file; default: the bundled vocabulary
    position_init: str = "normal"     # normal | sinusoidal (see sinusoidal_positions)
    extra: Dict = field(default_factory=dict)


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
    if tc.optimizer == "lamb":
        return LAMB(params, lr=tc.lr, weight_decay=tc.weight_decay)
    if tc.optimizer == "adamw":
        return AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
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
        logits = backend.to_numpy(out["prediction_logits"])
        pred = logits.argmax(-1).reshape(-1)
        if logits.shape[0] != sel.size:   # mlm_labelled_only: logits exist only at labelled positions
            mlm_ok += int((pred == labels[sel]).sum())
        else:
            mlm_ok += int((pred[sel] == labels[sel]).sum())
        mlm_n += int(sel.sum())
        sop = backend.to_numpy(out["sop_logits"]).argmax(-1)
        sop_ok += int((sop == batch["sentence_order_label"]).sum())
        sop_n += sop.size
        loss_sum += float(out["loss"])
    model.train(was_training)
    n = max(1, min(n_batches, i + 1))
    return {"mlm_accuracy": mlm_ok / max(1, mlm_n), "sop_accuracy": sop_ok / max(1, sop_n), "eval_loss": loss_sum / n}


def _save_checkpoint(out: Path, model, opt, batches, state: dict):
    """Write OUT/checkpoint atomically: build checkpoint.tmp, then swap it in."""
    tmp, final, old = out / "checkpoint.tmp", out / "checkpoint", out / "checkpoint.old"
    shutil.rmtree(tmp, ignore_errors=True)
    save_pretrained(model, tmp)
    o = opt.state_dict()
    arrays = {f"m/{k}": v for k, v in o["m"].items()}
    arrays.update({f"v/{k}": v for k, v in o["v"].items()})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(tmp / "optimizer.npz", [buf.getvalue()])
    meta = {k: v for k, v in o.items() if k not in ("m", "v")}
    state = dict(state, optimizer=meta, data=batches.state_dict())
    atomic_write(tmp / "trainer_state.json", [json.dumps(state, indent=1, default=float).encode()])
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(out: Path, model, opt, batches) -> dict:
    ck = out / "checkpoint"
    if not (ck / "trainer_state.json").exists():
        raise FileNotFoundError(f"--resume: no checkpoint in {ck}")
    load_state_dict_into(model, read_safetensors(ck / "model.safetensors"), strict=True, source=str(ck))
    state = json.loads((ck / "trainer_state.json").read_text())
    z = np.load(ck / "optimizer.npz")
    o = dict(state["optimizer"])
    o["m"] = {k[2:]: z[k] for k in z.files if k.startswith("m/")}
    o["v"] = {k[2:]: z[k] for k in z.files if k.startswith("v/")}
    opt.load_state_dict(o)
    batches.load_state_dict(state["data"])
    return state


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
             stop_after: Optional[int] = None):
    """Train; returns (model, history, evals). stop_after: stop (after saving) at that step,
    as if interrupted (used by the resume test)."""
    out = Path(tc.out)
    out.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(tc)
    if model_config.vocab_size != tok.vocab_size:
        raise ValueError(f"config vocab_size {model_config.vocab_size} != tokenizer's {tok.vocab_size}")
    dcfg = PretrainingDataConfig(max_seq_length=tc.max_seq_length, max_predictions_per_seq=tc.max_predictions_per_seq)
    batches = PretrainingBatches(tc.corpus, tok, dcfg, tc.batch_size, seed=tc.seed)
    model = AlbertForPreTraining(model_config, seed=tc.seed, dtype=tc.dtype, device=tc.device).train()
    model.mlm_labelled_only = True
    if tc.position_init == "sinusoidal":
        name = model.base_prefix + "embeddings.position_embeddings.weight"
        w = model.params[name]
        w[...] = backend.to_device(sinusoidal_positions(*w.shape, model_config.initializer_range).astype(w.dtype),
                                   model.device)
    elif tc.position_init != "normal":
        raise ValueError(f"position_init {tc.position_init!r}: expected 'normal' or 'sinusoidal'")
    opt = _make_optimizer(tc, model.params)
    history, evals, step = [], [], 0
    if resume:
        state = _load_checkpoint(out, model, opt, batches)
        step, history, evals = state["step"], state["history"], state["evals"]
    if stop_after is not None and not step < stop_after <= tc.steps:
        raise ValueError(f"stop at step {stop_after}: the run is at step {step} and ends at {tc.steps}")
    (out / "train_config.json").write_text(json.dumps(asdict(tc), indent=1))
    model_config.to_json_file(out / "model_config.json")
    it = iter(batches)

    def eval_now():
        if not tc.eval_corpus:
            return None
        eb = PretrainingBatches(tc.eval_corpus, tok, dcfg, tc.batch_size, seed=12345)
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
        loss = 0.0
        for micro in range(tc.grad_accum):
            batch = next(it)
            model.manual_seed(tc.seed * 1_000_003 + step * 97 + micro)   # dropout masks fixed by the step
            o = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                      labels=batch["labels"], sentence_order_label=batch["sentence_order_label"])
            model.backward()
            loss += float(o["loss"]) / tc.grad_accum
            tokens += int(batch["attention_mask"].sum())
        grads = model.grads()
        if tc.grad_accum > 1:
            scale_grads(grads, 1.0 / tc.grad_accum)
        gnorm = clip_grad_norm(grads, tc.clip_norm) if tc.clip_norm else float("nan")
        opt.step(grads, lr=lr)
        step += 1
        history.append({"step": step, "loss": loss, "lr": lr, "grad_norm": gnorm})
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
            _save_checkpoint(out, model, opt, batches,
                             {"step": step, "history": history, "evals": evals, "train_config": asdict(tc)})
            plot_history(history, evals, out / "loss.png")
        if done:
            break
    if bar is not None:
        bar.close()
    return model, history, evals
