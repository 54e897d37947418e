"""Losses with HF's reductions: mean over the counted elements."""
from ..backend import array_module

IGNORE_INDEX = -100  # label value that is not counted (padding, unmasked MLM positions)


def cross_entropy_forward(logits, labels, ignore_index=IGNORE_INDEX):
    """logits (N, K), labels (N,) int -> mean negative log-likelihood over labels != ignore_index.

    Like PyTorch, a batch where every label is ignored gives nan (0/0).
    """
    xp = array_module(logits)
    labels = labels.reshape(-1)
    valid = labels != ignore_index
    n = int(valid.sum())
    safe = xp.where(valid, labels, 0)
    K = logits.shape[-1]
    if n and (int(safe.min()) < 0 or int(safe.max()) >= K):
        bad = int(safe.min()) if int(safe.min()) < 0 else int(safe.max())
        raise ValueError(f"label {bad} is out of range for {K} classes (use {ignore_index} to ignore a position)")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    logsumexp = xp.log(xp.exp(shifted).sum(axis=-1))
    nll = logsumexp - xp.take_along_axis(shifted, safe[:, None], axis=-1)[:, 0]   # (N,)
    loss = (nll * valid).sum() / n if n else xp.asarray(float("nan"), dtype=logits.dtype)
    return loss, (shifted, logsumexp, safe, valid, n)


def cross_entropy_backward(dloss, cache):
    """d/dlogits = (softmax - onehot) / n on counted rows, 0 elsewhere."""
    shifted, logsumexp, safe, valid, n = cache
    xp = array_module(shifted)
    dlogits = xp.exp(shifted - logsumexp[:, None])                       # softmax (N, K)
    dlogits[xp.arange(len(safe)), safe] -= 1.0
    dlogits *= (valid * (dloss / max(n, 1)))[:, None]
    return dlogits


def mse_forward(pred, target):
    diff = pred - target
    return (diff * diff).mean(), (diff,)


def mse_backward(dloss, cache):
    (diff,) = cache
    return diff * (2.0 * dloss / diff.size)


def bce_with_logits_forward(logits, targets):
    """Mean binary cross-entropy on logits, in the stable form
    max(z, 0) - z*y + log(1 + exp(-|z|))."""
    xp = array_module(logits)
    z = logits
    loss = xp.maximum(z, 0) - z * targets + xp.log1p(xp.exp(-xp.abs(z)))
    return loss.mean(), (z, targets)


def bce_with_logits_backward(dloss, cache):
    """d/dz = (sigmoid(z) - y) / n."""
    z, y = cache
    xp = array_module(z)
    s = 1.0 / (1.0 + xp.exp(-z))
    return (s - y) * (dloss / z.size)
