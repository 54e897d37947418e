"""Activations, each forward with its mirrored backward.

gelu_new is the tanh approximation that Google's ALBERT code calls "gelu"
(HF names it gelu_new); gelu is the exact erf form.
"""
import math

from ..backend import array_module, erf, store, upcast

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu_new_forward(x):
    xp = array_module(x)
    # t = tanh(sqrt(2/pi) * (x + 0.044715 x^3)), y = 0.5 x (1 + t)
    t = x * x
    t *= 0.044715
    t += 1.0
    t *= x
    t *= _SQRT_2_OVER_PI
    xp.tanh(t, out=t)
    y = t + 1.0
    y *= x
    y *= 0.5
    return y, (x, t)


def gelu_new_backward(dy, cache):
    # dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) * sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    x, t = cache
    du = x * x
    du *= 3 * 0.044715
    du += 1.0
    du *= _SQRT_2_OVER_PI
    sech2 = t * t
    sech2 *= -1.0
    sech2 += 1.0
    du *= sech2
    du *= x
    du += t
    du += 1.0
    du *= 0.5
    du *= dy
    return du


def gelu_forward(x):
    c = erf(x * _INV_SQRT_2)  # Phi(x) = 0.5 (1 + erf(x / sqrt 2))
    return 0.5 * x * (1.0 + c), (x, c)


def gelu_backward(dy, cache):
    # dy/dx = Phi(x) + x * phi(x)
    x, c = cache
    xp = array_module(x)
    return dy * (0.5 * (1.0 + c) + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x))


def relu_forward(x):
    xp = array_module(x)
    return xp.maximum(x, 0), x


def relu_backward(dy, cache):
    x = cache
    return dy * (x > 0)


def silu_forward(x):
    xp = array_module(x)
    s = 1.0 / (1.0 + xp.exp(-x))
    return x * s, (x, s)


def silu_backward(dy, cache):
    x, s = cache
    return dy * (s * (1.0 + x * (1.0 - s)))


def tanh_forward(x):
    xp = array_module(x)
    y = xp.tanh(x)
    return y, y


def tanh_backward(dy, cache):
    y = cache
    return dy * (1.0 - y * y)


def linear_act_forward(x):
    return x, None


def linear_act_backward(dy, cache):
    return dy


ACTIVATION_FNS = {
    "gelu_new": (gelu_new_forward, gelu_new_backward),
    "gelu_pytorch_tanh": (gelu_new_forward, gelu_new_backward),  # same function, HF's other name
    "gelu_fast": (gelu_new_forward, gelu_new_backward),  # same formula up to rounding
    "gelu": (gelu_forward, gelu_backward),
    "relu": (relu_forward, relu_backward),
    "silu": (silu_forward, silu_backward),
    "swish": (silu_forward, silu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "linear": (linear_act_forward, linear_act_backward),
}


def _map_cache(cache, fn):
    """cache with fn applied to each array in it (a cache is None, an array or a tuple of arrays)."""
    if cache is None:
        return None
    if isinstance(cache, tuple):
        return tuple(fn(c) for c in cache)
    return fn(cache)


def activation_forward(x, name):
    """Mixed precision: the activation is computed in float32 (a float16 input is upcast); its output and
    the arrays it keeps are stored in x's precision (x itself is kept, not its float32 copy). For float32
    and float64 inputs this is exactly the activation's own forward."""
    xf = upcast(x)
    y, cache = ACTIVATION_FNS[name][0](xf)
    ys = store(y, x.dtype)
    return ys, _map_cache(cache, lambda c: x if c is xf else ys if c is y else store(c, x.dtype))


def activation_backward(dy, cache, name):
    """The derivative in float32 (the cache and dy upcast), dx in dy's precision."""
    return store(ACTIVATION_FNS[name][1](upcast(dy), _map_cache(cache, upcast)), dy.dtype)
