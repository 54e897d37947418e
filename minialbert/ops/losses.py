"""Losses with HF's reductions: mean over the counted elements."""
from ..backend import array_module

IGNORE_INDEX = -100  # label value that is not counted (padding, unmasked MLM positions)


def check_class_labels(labels, num_classes, ignore_index=IGNORE_INDEX):
    """ValueError unless every label other than ignore_index lies in [0, num_classes). Reads the values:
    call it on host labels (the models do, before copying them to the device); on device labels it
    waits for the device."""
    labels = labels.reshape(-1)
    xp = array_module(labels)
    valid = labels != ignore_index
    safe = xp.where(valid, labels, 0)
    if labels.size and bool(valid.any()):
        lo, hi = int(safe.min()), int(safe.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"label {lo if lo < 0 else hi} is out of range for {num_classes} classes "
                             f"(use {ignore_index} to ignore a position)")


def cross_entropy_forward(logits, labels, ignore_index=IGNORE_INDEX, check=True):
    """logits (N, K), labels (N,) int -> mean negative log-likelihood over labels != ignore_index.

    Like PyTorch, a batch where every label is ignored gives nan (0/0). The count of labels stays an
    array where the labels are (no host sync). check=False skips the range check of the labels (which
    reads them: the models check on the host before the copy to the device and pass check=False).
    """
    xp = array_module(logits)
    labels = labels.reshape(-1)
    if check:
        check_class_labels(labels, logits.shape[-1], ignore_index)
    valid = labels != ignore_index
    n = valid.sum()                                                                 # 0-d int array
    safe = xp.where(valid, labels, 0)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    logsumexp = xp.log(xp.exp(shifted).sum(axis=-1))
    nll = logsumexp - xp.take_along_axis(shifted, safe[:, None], axis=-1)[:, 0]   # (N,)
    total = (nll * valid).sum()
    loss = xp.where(n > 0, total / xp.maximum(n, 1).astype(total.dtype), float("nan"))[()]
    return loss, (shifted, logsumexp, safe, valid, n)


def cross_entropy_backward(dloss, cache):
    """d/dlogits = (softmax - onehot) / n on counted rows, 0 elsewhere."""
    shifted, logsumexp, safe, valid, n = cache
    xp = array_module(shifted)
    dlogits = xp.exp(shifted - logsumexp[:, None])                       # softmax (N, K)
    dlogits[xp.arange(len(safe)), safe] -= 1.0
    dlogits *= (valid * (dloss / xp.maximum(n, 1)))[:, None]
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
