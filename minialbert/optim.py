"""Optimisers and learning-rate schedules for training ALBERT: LAMB and AdamW.

ALBERT was pre-trained with LAMB (You et al., 2019, arxiv.org/abs/1904.00962)
and is usually fine-tuned with AdamW. Both here follow the recipe of Google's
reference code (google-research/albert, ``optimization.py`` and
``lamb_optimizer.py``):

- weight decay 0.01, not applied to LayerNorm weights and biases (any parameter
  whose name contains "LayerNorm", "layer_norm" or "bias");
- for LAMB, those same parameters also skip the layer-wise trust ratio: Google's
  ``LAMBOptimizer`` uses ``exclude_from_weight_decay`` as
  ``exclude_from_layer_adaptation`` when the latter is not given, and
  ``create_optimizer`` never gives it;
- gradients clipped to a global L2 norm of 1.0 before every update
  (:func:`clip_grad_norm`);
- linear warmup, then polynomial (by default linear) decay to 0
  (:func:`warmup_linear_decay`).

A training step, with ``model.params`` and ``model.grads()`` both keyed by HF
names::

    opt = LAMB(model.params, lr=1.76e-3)
    for step in range(total_steps):
        model.zero_grad()
        for micro_batch in micro_batches:          # k >= 1: gradient accumulation
            model(**micro_batch); model.backward()  # gradients add (+=) into buffers
        grads = model.grads()
        scale_grads(grads, 1.0 / len(micro_batches))
        clip_grad_norm(grads, 1.0)
        opt.step(grads, lr=warmup_linear_decay(step, total_steps, warmup_steps, 1.76e-3))

Pass ``model.params`` (each tensor once), not ``model.state_dict()``, which
lists the tied MLM decoder weight a second time under its alias.

Updates are made **in place** on the parameter arrays, so ``model.params`` sees
them, and with the arrays' own namespace (numpy or cupy, via
``array_module``), so the same code trains on the CPU and on a GPU. Moments are
kept in each parameter's dtype (float64 parameters get float64 moments; Google
keeps them in float32 whatever the variable) and on its device: an optimiser
built before ``model.to(device, dtype)`` keeps working, its moments following
the parameters at the next step (as torch's ``Optimizer.load_state_dict`` casts
state to each parameter's device).

Mixed precision (``precision="float16"`` / ``"bfloat16"``, or float16 parameter arrays): the standard
recipe of Micikevicius et al. 2018, "Mixed Precision Training" (arxiv.org/abs/1710.03740, §3.1), as in
PyTorch AMP and apex's O2: the optimiser keeps a **float32 master copy** of every low-precision parameter
and float32 moments, applies the update to the master copy (small updates that would vanish when added to
a float16 / bfloat16 weight accumulate there), and then refreshes the model's low-precision parameter from
it (rounded to nearest; for the emulated bfloat16, backend.round_bfloat16). The gradients it reads are the
model's float32 buffers. The master copies are part of :meth:`state_dict`, so a resumed run continues bit
for bit. With float16, scale the loss (:class:`DynamicLossScaler`).
"""
from __future__ import annotations

import math
import re
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence

from . import backend
from .backend import array_module

# Google's exclusion list (create_optimizer in optimization.py), matched with
# re.search, so a pattern matches anywhere in the name. With HF names this
# covers "...LayerNorm.weight", "...full_layer_layer_norm.weight", every
# "...bias" and the MLM head's "predictions.bias".
DEFAULT_EXCLUDE = ("LayerNorm", "layer_norm", "bias")


def _matches(name: str, patterns: Optional[Sequence[str]]) -> bool:
    return any(re.search(p, name) is not None for p in (patterns or ()))


def _l2_norm(x):
    """Euclidean norm of a whole tensor (flattened), as a 0-d array on x's device.

    Kept as an array, not a Python float, so a GPU step never waits for the host.
    """
    xp = array_module(x)
    flat = x.reshape(-1)
    return xp.sqrt(xp.dot(flat, flat))


def _host_copy(x):
    """A numpy copy that later in-place updates of ``x`` cannot change."""
    return backend.numpy.array(backend.to_numpy(x), copy=True)


class _MomentOptimizer:
    """What LAMB and AdamW share: per-parameter first and second moments (m, v),
    a step counter, the weight-decay exclusion list, and (de)serialisation.

    Subclasses implement :meth:`_update` for one tensor.
    """

    def __init__(self, params: Dict[str, Any], lr: float, betas: tuple, eps: float,
                 weight_decay: float, exclude_from_weight_decay: Optional[Iterable[str]],
                 precision: Optional[str] = None):
        if lr < 0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        # The same array under two names would be updated twice per step.
        seen: Dict[int, str] = {}
        for name, p in params.items():
            if id(p) in seen:
                raise ValueError(f"{name!r} and {seen[id(p)]!r} are the same array; pass each "
                                 "parameter once (model.params, not model.state_dict())")
            seen[id(p)] = name
        self.params = params  # the caller's dict: updates land in its arrays
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.exclude_from_weight_decay = tuple(
            DEFAULT_EXCLUDE if exclude_from_weight_decay is None else exclude_from_weight_decay)
        self.step_count = 0  # updates made so far
        # precision: None (float16 parameter arrays get float32 master weights, others none), 'float16',
        # 'bfloat16' (the model's float32 arrays hold bfloat16 values: master weights, refreshed parameters
        # rounded to bfloat16), 'float32' / 'float64' (no master weights). model.precision is the value.
        if precision is not None:
            backend.resolve_precision(precision)
        self.precision = precision
        self.master: Dict[str, Any] = {}      # name -> float32 master weights (low-precision parameters only)
        self._master_of: Dict[str, Any] = {}  # name -> the parameter array its master was last written to
        self.m: Dict[str, Any] = {}
        self.v: Dict[str, Any] = {}
        for name, p in params.items():
            xp = array_module(p)
            with backend.device_scope(backend.array_device(p)):   # cupy allocates on the current device
                w = self._master(name, p)
                self.m[name] = xp.zeros_like(w)  # same shape, dtype and device as the parameter (its master)
                self.v[name] = xp.zeros_like(w)

    # -- mixed precision ------------------------------------------------------------
    def _is_low(self, p) -> bool:
        """Whether p gets a float32 master copy (a float16 array, or any parameter of a bfloat16 model)."""
        if self.precision in ("float32", "float64"):
            return False
        return p.dtype == backend.numpy.float16 or self.precision in backend.LOW_PRECISIONS

    def _master(self, name: str, p):
        """The array the update is applied to: p itself, or p's float32 master copy. A master copy made
        for another array (the model moved or loaded weights since: model.to, load_state_dict) is made
        again from the parameter's current values."""
        if not self._is_low(p):
            return p
        w = self.master.get(name)
        if w is None or self._master_of.get(name) is not p:
            w = self.master[name] = p.astype(backend.numpy.float32)       # a copy, on p's device
            self._master_of[name] = p
        return w

    def _refresh(self, name: str, p, w) -> None:
        """The low-precision parameter from its master copy, in place: rounded to nearest (float16), or to
        the nearest bfloat16 value (the emulated bfloat16)."""
        if w is p:
            return
        p[...] = backend.round_bfloat16(w) if self.precision == "bfloat16" else w

    # -- which parameters get what --------------------------------------------------
    def uses_weight_decay(self, name: str) -> bool:
        """Whether ``name`` is decayed (Google's ``_do_use_weight_decay``)."""
        return self.weight_decay != 0.0 and not _matches(name, self.exclude_from_weight_decay)

    # -- the update -------------------------------------------------------------------
    def step(self, grads: Mapping[str, Any], lr: Optional[float] = None) -> None:
        """One update of every parameter that has a gradient, in place.

        ``lr`` overrides ``self.lr`` for this step (pass a schedule's value).
        Parameters missing from ``grads`` are left alone, moments included, as
        Google's code skips variables whose gradient is None.
        """
        lr = self.lr if lr is None else float(lr)
        # Check everything before touching anything, so a bad call changes nothing.
        unknown = [k for k in grads if k not in self.params]
        if unknown:
            raise KeyError(f"gradients for unknown parameters: {unknown[:5]}")
        for name, g in grads.items():
            if g is not None and tuple(g.shape) != tuple(self.params[name].shape):
                raise ValueError(f"{name}: gradient shape {g.shape} != parameter shape "
                                 f"{self.params[name].shape}")
        self.step_count += 1
        first = next(iter(self.params.values()), None)
        with backend.device_scope(backend.array_device(first) if first is not None else "cpu"):
            for name, p in self.params.items():
                g = grads.get(name)
                if g is not None:
                    w = self._master(name, p)          # p, or its float32 master copy
                    m, v = self._moments(name, w)
                    self._update(name, w, g, m, v, lr)
                    self._refresh(name, p, w)

    def _moments(self, name: str, p):
        """(m, v) of ``name`` on p's device and in p's dtype. The model may have moved (``model.to``
        replaces the arrays in model.params, which is this optimiser's dict) since the moments were
        made: they follow the parameter, copied once, their values kept (rounded to a narrower dtype).
        A parameter added to the dict after the optimiser was built (model.init_missing) starts at zero."""
        if name not in self.m:
            self.m[name], self.v[name] = array_module(p).zeros_like(p), array_module(p).zeros_like(p)
        m, v = self.m[name], self.v[name]
        where = backend.array_device(p)
        if m.dtype != p.dtype or backend.array_device(m) != where:
            m = self.m[name] = backend.to_device(m, where).astype(p.dtype, copy=False)
            v = self.v[name] = backend.to_device(v, where).astype(p.dtype, copy=False)
        return m, v

    def _update(self, name: str, p, g, m, v, lr: float) -> None:
        raise NotImplementedError

    def _update_moments(self, g, m, v) -> None:
        """m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2, in place."""
        b1, b2 = self.betas
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)

    # -- saving and resuming -----------------------------------------------------------
    def _hyperparams(self) -> Dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay,
                "exclude_from_weight_decay": self.exclude_from_weight_decay}

    def state_dict(self) -> Dict[str, Any]:
        """Everything needed to resume bit-identically: the step count, host
        (numpy) copies of every moment, and the hyper-parameters."""
        state = {"optimizer": type(self).__name__,
                 "step": self.step_count,
                 "hyperparams": dict(self._hyperparams()),
                 "m": {k: self._host_moment(self.m, k) for k in self.params},
                 "v": {k: self._host_moment(self.v, k) for k in self.params}}
        low = [k for k, p in self.params.items() if self._is_low(p)]
        if low:   # mixed precision: the float32 master weights (the parameters alone lose their low bits)
            state["master"] = {k: _host_copy(self._master(k, self.params[k])) for k in low}
        return state

    def _host_moment(self, moments, name):
        """A host copy of one moment; zeros for a parameter added after the optimiser was built and not
        stepped yet (the moment it would start from)."""
        if name in moments:
            return _host_copy(moments[name])
        p = self.params[name]
        return backend.numpy.zeros(tuple(p.shape), dtype=backend.numpy.float32 if self._is_low(p) else p.dtype)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` onto this optimiser's parameters
        (moments copied to each parameter's device and dtype; hyper-parameters
        replace the constructor's, as in torch)."""
        if state.get("optimizer") != type(self).__name__:
            raise ValueError(f"state is for {state.get('optimizer')!r}, not {type(self).__name__}")
        if set(state["m"]) != set(self.params) or set(state["v"]) != set(self.params):
            missing = sorted(set(self.params) - set(state["m"]))
            extra = sorted(set(state["m"]) - set(self.params))
            raise KeyError(f"state does not match the parameters (missing {missing[:5]}, "
                           f"unexpected {extra[:5]})")
        m, v = {}, {}
        for name, p in self.params.items():
            where = backend.array_device(p)
            for src, dst in ((state["m"], m), (state["v"], v)):
                a = src[name]
                if tuple(a.shape) != tuple(p.shape):
                    raise ValueError(f"{name}: saved moment shape {a.shape} != {p.shape}")
                b = backend.to_device(a, where)
                to = backend.numpy.float32 if self._is_low(p) else p.dtype   # mixed precision: float32 moments
                dst[name] = b.astype(to, copy=b is a)  # a copy, on the parameter's device
        self.m, self.v = m, v
        saved = state.get("master") or {}
        self.master, self._master_of = {}, {}
        for name, p in self.params.items():
            if self._is_low(p) and name in saved:
                a = saved[name]
                if tuple(a.shape) != tuple(p.shape):
                    raise ValueError(f"{name}: saved master weight shape {a.shape} != {p.shape}")
                b = backend.to_device(a, backend.array_device(p))
                self.master[name] = b.astype(backend.numpy.float32, copy=b is a)
                self._master_of[name] = p
            # (a low-precision parameter with no saved master copy starts one from its values at the next step)
        self.step_count = int(state["step"])
        hp = state["hyperparams"]
        self.lr = float(hp["lr"])
        self.betas = (float(hp["betas"][0]), float(hp["betas"][1]))
        self.eps = float(hp["eps"])
        self.weight_decay = float(hp["weight_decay"])
        self.exclude_from_weight_decay = tuple(hp["exclude_from_weight_decay"])
        self._load_extra_hyperparams(hp)

    def _load_extra_hyperparams(self, hp: Mapping[str, Any]) -> None:
        pass


class LAMB(_MomentOptimizer):
    """LAMB exactly as Google's ``lamb_optimizer.py`` that pre-trained ALBERT.

    Per tensor w with gradient g (b1=0.9, b2=0.999, eps=1e-6)::

        m = b1 m + (1-b1) g
        v = b2 v + (1-b2) g^2
        u = m / (sqrt(v) + eps) + wd w      # "+ wd w" only if w is decayed
        r = ||w|| / ||u||  if both > 0, else 1     # r = 1 if w skips adaptation
        w = w - lr r u

    Unlike the paper's Algorithm 2 there is **no bias correction** of m and v,
    and the trust ratio is not clipped. The ratio makes each tensor's step
    proportional to its own norm (``lr * ||w||``), which is what lets the
    learning rate stay fixed as the batch grows.

    ``exclude_from_layer_adaptation=None`` means "the same as
    ``exclude_from_weight_decay``", as in Google's code, so LayerNorm weights and
    biases get neither weight decay nor a trust ratio.
    """

    def __init__(self, params: Dict[str, Any], lr: float = 1.76e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.01,
                 exclude_from_weight_decay: Optional[Iterable[str]] = None,
                 exclude_from_layer_adaptation: Optional[Iterable[str]] = None, precision: Optional[str] = None):
        # lr default: ALBERT's pre-training learning rate (batch 4096, paper section 4.1).
        super().__init__(params, lr, betas, eps, weight_decay, exclude_from_weight_decay, precision)
        self.exclude_from_layer_adaptation = (
            self.exclude_from_weight_decay if exclude_from_layer_adaptation is None
            else tuple(exclude_from_layer_adaptation))

    def uses_layer_adaptation(self, name: str) -> bool:
        """Whether ``name`` gets the trust ratio (Google's ``_do_layer_adaptation``)."""
        return not _matches(name, self.exclude_from_layer_adaptation)

    def _update(self, name, p, g, m, v, lr):
        xp = array_module(p)
        self._update_moments(g, m, v)
        u = m / (xp.sqrt(v) + self.eps)
        if self.uses_weight_decay(name):
            # Decoupled decay: added to the update, never to the gradient, so it
            # does not pass through m and v.
            u += self.weight_decay * p
        if self.uses_layer_adaptation(name):
            w_norm, u_norm = _l2_norm(p), _l2_norm(u)
            ok = (w_norm > 0) & (u_norm > 0)
            # A zero-norm tensor (e.g. freshly zeroed) would otherwise never move.
            ratio = xp.where(ok, w_norm / xp.where(ok, u_norm, 1.0), 1.0)
            p -= (ratio * lr) * u
        else:
            p -= lr * u

    def _hyperparams(self):
        hp = super()._hyperparams()
        hp["exclude_from_layer_adaptation"] = self.exclude_from_layer_adaptation
        return hp

    def _load_extra_hyperparams(self, hp):
        self.exclude_from_layer_adaptation = tuple(hp["exclude_from_layer_adaptation"])


class AdamW(_MomentOptimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter), computed as
    ``torch.optim.AdamW``::

        w = w - lr wd w                          # only if w is decayed
        m = b1 m + (1-b1) g;   v = b2 v + (1-b2) g^2
        m_hat = m / (1 - b1^t);   v_hat = v / (1 - b2^t)
        w = w - lr m_hat / (sqrt(v_hat) + eps)

    The decay uses the weights from before this step, so both lines together are
    ``w - lr (m_hat / (sqrt(v_hat) + eps) + wd w)``.

    ``bias_correction=False`` drops the two divisions, which gives exactly
    Google's ``AdamWeightDecayOptimizer`` (ALBERT/BERT fine-tuning). Defaults
    follow ALBERT's recipe: eps 1e-6 (torch's is 1e-8), weight decay 0.01 with
    LayerNorm weights and biases excluded.
    """

    def __init__(self, params: Dict[str, Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.01,
                 exclude_from_weight_decay: Optional[Iterable[str]] = None,
                 bias_correction: bool = True, precision: Optional[str] = None):
        super().__init__(params, lr, betas, eps, weight_decay, exclude_from_weight_decay, precision)
        self.bias_correction = bool(bias_correction)

    def _update(self, name, p, g, m, v, lr):
        xp = array_module(p)
        if self.uses_weight_decay(name):
            p *= 1.0 - lr * self.weight_decay
        self._update_moments(g, m, v)
        b1, b2 = self.betas
        if self.bias_correction:
            # m and v start at 0, so early on they are biased towards 0 by the
            # factors (1 - b^t); dividing them out makes step 1 ~ lr * sign(g).
            t = self.step_count
            step_size = lr / (1.0 - b1 ** t)
            denom = xp.sqrt(v) / math.sqrt(1.0 - b2 ** t) + self.eps
        else:
            step_size = lr
            denom = xp.sqrt(v) + self.eps
        p -= step_size * (m / denom)

    def _hyperparams(self):
        hp = super()._hyperparams()
        hp["bias_correction"] = self.bias_correction
        return hp

    def _load_extra_hyperparams(self, hp):
        self.bias_correction = bool(hp["bias_correction"])


# -- learning-rate schedule ------------------------------------------------------------

def warmup_linear_decay(step: int, total_steps: int, warmup_steps: int, peak_lr: float,
                        end_lr: float = 0.0, power: float = 1.0,
                        decay_after_warmup: bool = False) -> float:
    """Learning rate for update number ``step`` (0-based: the first update is step 0).

    Google's ``create_optimizer`` (the default here) builds it in two layers:

    1. polynomial decay over the *whole* run, ``tf.train.polynomial_decay``
       with cycle=False::

           lr = (peak_lr - end_lr) * (1 - min(step, total_steps) / total_steps) ** power + end_lr

    2. then, for ``step < warmup_steps``, that value is overridden by the
       linear warmup ``peak_lr * step / warmup_steps``.

    So the first update has lr 0, warmup climbs to ``peak_lr * (W-1)/W``, and at
    step W the decay curve takes over at ``peak_lr * (1 - W/T) ** power``
    (slightly below the peak; the decay clock started at step 0, not at W).
    Google always uses end_lr 0; power is its ``poly_power`` (1.0 = linear).

    ``decay_after_warmup=True`` instead starts the decay at the warmup's end,
    from exactly ``peak_lr`` at step W to ``end_lr`` at step T (as
    ``transformers.get_polynomial_decay_schedule_with_warmup``).
    """
    if total_steps <= 0:
        raise ValueError(f"total_steps must be > 0, got {total_steps}")
    if warmup_steps < 0 or step < 0:
        raise ValueError(f"step and warmup_steps must be >= 0, got {step}, {warmup_steps}")
    if warmup_steps > 0 and step < warmup_steps:
        return peak_lr * step / warmup_steps
    if decay_after_warmup:
        span = total_steps - warmup_steps
        if span <= 0 or step >= total_steps:
            return end_lr
        done = (step - warmup_steps) / span
    else:
        done = min(step, total_steps) / total_steps
    return (peak_lr - end_lr) * (1.0 - done) ** power + end_lr


# -- gradient utilities ---------------------------------------------------------------

def clip_grad_norm(grads: Mapping[str, Any], max_norm: float, as_array: bool = False):
    """Scale all gradients together, in place, so their global L2 norm is at
    most ``max_norm``; return the norm before clipping.

    "Global" means one norm over every tensor (``tf.clip_by_global_norm``,
    ``torch.nn.utils.clip_grad_norm_``), so the direction of the full update is
    kept. ALBERT pre-training clips at 1.0. A non-finite norm is returned as is
    and nothing is scaled: check it and skip the step.

    The norm and the clipping factor stay on the gradients' device; the norm is
    returned as a float (one host sync), or with ``as_array=True`` as a 0-d
    float64 array where the gradients are (no sync: the training loop reads it
    together with the loss, in its one transfer per step).
    """
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    arrays = [g for g in grads.values() if g is not None]
    if not arrays:
        return 0.0
    xp = array_module(*arrays)
    sq = xp.zeros((), dtype=backend.numpy.float64)
    for g in arrays:
        flat = g.reshape(-1)
        sq += xp.dot(flat, flat)  # one sum per tensor, added up in float64
    norm = xp.sqrt(sq)
    clip = norm > max_norm        # false for a nan norm: nothing is scaled
    factor = xp.where(clip, max_norm / xp.where(clip, norm, 1.0), 1.0)   # 1 when not clipping: g * 1 == g
    for g in arrays:
        g *= factor.astype(g.dtype)   # the float64 factor rounded to g's dtype, as a Python float would be
    return norm if as_array else float(norm)


def scale_grads(grads: Mapping[str, Any], factor: float) -> None:
    """Multiply every gradient by ``factor`` in place.

    Gradient accumulation: ``model.backward()`` adds (+=) into the gradient
    buffers, so k forward/backward passes over k micro-batches (with no
    ``zero_grad()`` between them) leave the sum of k mean-loss gradients;
    ``scale_grads(grads, 1/k)`` turns it into their mean. That equals the
    gradient of one big batch when every micro-batch has the same number of
    loss terms (for MLM: the same number of masked tokens).
    """
    for g in grads.values():
        if g is not None:
            g *= factor


# -- loss scaling (float16 training) ----------------------------------------------------

class DynamicLossScaler:
    """Dynamic loss scaling for float16 training (Micikevicius et al. 2018, "Mixed Precision Training",
    arxiv.org/abs/1710.03740, §3.2; the rule of PyTorch's ``torch.amp.GradScaler``).

    Small activation gradients underflow float16 (below 6e-8 they are 0). The backward pass starts from
    ``scale * loss`` instead (``model.backward(loss_scale=scaler.scale)``), which shifts every gradient up
    into float16's range, and the float32 gradients are divided by the scale before the update
    (:meth:`unscale_`; the scale is a power of two, so that division is exact). Too large a scale
    overflows to inf: such a step is **skipped** (no update, optimiser state untouched) and the scale
    halved; after ``growth_interval`` finite steps in a row it doubles::

        scaler = DynamicLossScaler()
        out = model(**batch); model.backward(loss_scale=scaler.scale)
        grads = model.grads(); scaler.unscale_(grads)
        if scaler.update(grads_finite(grads)):      # False: skipped, scale halved
            opt.step(grads, lr=lr)

    bfloat16 has float32's exponent range and needs no scaling.
    """

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, min_scale: float = 2.0 ** -24):
        if not (init_scale > 0 and math.isfinite(init_scale)):
            raise ValueError(f"init_scale must be a finite number > 0, got {init_scale}")
        if not (growth_factor > 1 and 0 < backoff_factor < 1 and growth_interval >= 1):
            raise ValueError("need growth_factor > 1, 0 < backoff_factor < 1 and growth_interval >= 1")
        self.scale = float(init_scale)
        self.growth_factor, self.backoff_factor = float(growth_factor), float(backoff_factor)
        self.growth_interval, self.min_scale = int(growth_interval), float(min_scale)
        self.good_steps = 0       # finite steps since the last change of scale
        self.skipped = 0          # steps skipped so far

    def unscale_(self, grads: Mapping[str, Any]) -> None:
        """Divide the (scaled) gradients by the scale, in place."""
        scale_grads(grads, 1.0 / self.scale)

    def update(self, finite: bool) -> bool:
        """After a step's gradients are known: returns whether to apply the update (they were finite), and
        adjusts the scale (halved on inf/nan, doubled after growth_interval good steps). Raises
        FloatingPointError when the scale would fall below min_scale (the gradients are not finite for a
        reason scaling cannot fix)."""
        if not finite:
            self.skipped += 1
            self.good_steps = 0
            if self.scale * self.backoff_factor < self.min_scale:
                raise FloatingPointError(f"non-finite gradients even at loss scale {self.scale:g}")
            self.scale *= self.backoff_factor
            return False
        self.good_steps += 1
        if self.good_steps >= self.growth_interval:
            self.scale *= self.growth_factor
            self.good_steps = 0
        return True

    def state_dict(self) -> Dict[str, Any]:
        return {"scale": self.scale, "good_steps": self.good_steps, "skipped": self.skipped,
                "growth_factor": self.growth_factor, "backoff_factor": self.backoff_factor,
                "growth_interval": self.growth_interval, "min_scale": self.min_scale}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        scale = float(state["scale"])
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"loss scale {scale!r} is not a finite number > 0")
        self.scale, self.good_steps, self.skipped = scale, int(state["good_steps"]), int(state["skipped"])
        for k in ("growth_factor", "backoff_factor", "min_scale"):
            if k in state:
                setattr(self, k, float(state[k]))
        if "growth_interval" in state:
            self.growth_interval = int(state["growth_interval"])


def grads_finite(grads: Mapping[str, Any]) -> bool:
    """Whether every gradient is finite (one host sync on a device)."""
    arrays = [g for g in grads.values() if g is not None]
    if not arrays:
        return True
    xp = array_module(*arrays)
    ok = xp.stack([xp.isfinite(g).all() for g in arrays]).all()
    return bool(ok)
