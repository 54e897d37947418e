"""cupy.random for the strict stand-in.

Generator (default_rng, the bit generators XORWOW / MRG32k3a / Philox4x3210) has CuPy's methods only
(no normal, choice, permutation, shuffle, bytes, spawn: CuPy's Generator lacks them), and RandomState
(the legacy, cuRAND host-API generator: seed() re-seeds it in place) the commonly used part of its API.
Draws come from numpy.random.default_rng(seed): the stand-in's device stream for a seed equals numpy's
for the same seed (real CuPy's streams differ), which lets tests compare a device run with a CPU run.
Samples are made 'on the device': no host->device copy is counted.
"""
from __future__ import annotations

import numpy as _np

from .._core import _from_numpy, _unwrap, ndarray
from ..cuda import curand as _curand


def _dev(x, dtype=None):
    a = _np.asarray(x) if dtype is None else _np.asarray(x, dtype=dtype)
    return _from_numpy(a)


def _host(x, where):
    """Distribution parameters: scalars, or device arrays (read in place, no sync: a kernel argument)."""
    return _unwrap(x, where)


def _check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, ndarray):
        raise TypeError("a seed must be a host integer, not a device array")
    a = _np.asarray(seed)
    if a.dtype.kind not in "biu" or a.ndim != 0:
        raise TypeError(f"Seed must be an integer, got {seed!r}")
    if int(a) < 0 or int(a) >= 2 ** 64:
        raise ValueError("Seed must be between 0 and 2**64 - 1")
    return int(a)


class BitGenerator:
    def __init__(self, seed=None):
        self._seed = _check_seed(seed)
        self._np = _np.random.default_rng(self._seed)

    def random_raw(self, size=None, out=False):
        r = self._np.integers(0, 2 ** 32, size=size, dtype=_np.uint32)
        return _dev(r.astype(_np.float64) / 2 ** 32) if out else _dev(r)


class XORWOW(BitGenerator):
    def __init__(self, seed=None, *, size=-1):
        super().__init__(seed)


class MRG32k3a(XORWOW):
    pass


class Philox4x3210(XORWOW):
    pass


class Generator:
    """cupy.random.Generator(bit_generator): CuPy's methods, and only those."""

    def __init__(self, bit_generator):
        if not isinstance(bit_generator, BitGenerator):
            raise TypeError("Generator takes a cupy.random BitGenerator")
        self.bit_generator = bit_generator
        self._g = bit_generator._np

    def random(self, size=None, dtype=_np.float64, out=None):
        r = self._g.random(size, dtype=_np.dtype(dtype).type)
        if out is not None:
            out[...] = _dev(r)
            return out
        return _dev(r)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        return _dev(self._g.uniform(_host(low, "uniform"), _host(high, "uniform"), size), dtype)

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        if isinstance(low, ndarray) or isinstance(high, ndarray):
            raise TypeError("strict CuPy stand-in: CuPy's integers() takes host integer bounds")
        return _dev(self._g.integers(low, high, size=size, dtype=dtype, endpoint=endpoint))

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        r = self._g.standard_normal(size, dtype=_np.dtype(dtype).type)
        if out is not None:
            out[...] = _dev(r)
            return out
        return _dev(r)

    def standard_exponential(self, size=None, dtype=_np.float64, method="inv", out=None):
        if method == "zig":
            raise NotImplementedError("Ziggurat method is not supported")
        return _dev(self._g.standard_exponential(size), dtype)

    def exponential(self, scale=1.0, size=None):
        return _dev(self._g.exponential(_host(scale, "exponential"), size))

    def standard_gamma(self, shape, size=None, dtype=_np.float64, out=None):
        return _dev(self._g.standard_gamma(_host(shape, "standard_gamma"), size), dtype)

    def gamma(self, shape, scale=1.0, size=None):
        return _dev(self._g.gamma(_host(shape, "gamma"), _host(scale, "gamma"), size))

    def beta(self, a, b, size=None, dtype=_np.float64):
        return _dev(self._g.beta(_host(a, "beta"), _host(b, "beta"), size), dtype)

    def chisquare(self, df, size=None):
        return _dev(self._g.chisquare(_host(df, "chisquare"), size))

    def dirichlet(self, alpha, size=None):
        return _dev(self._g.dirichlet(_host(alpha, "dirichlet"), size))

    def f(self, dfnum, dfden, size=None):
        return _dev(self._g.f(_host(dfnum, "f"), _host(dfden, "f"), size))

    def geometric(self, p, size=None):
        return _dev(self._g.geometric(_host(p, "geometric"), size))

    def hypergeometric(self, ngood, nbad, nsample, size=None):
        return _dev(self._g.hypergeometric(_host(ngood, "hypergeometric"), _host(nbad, "hypergeometric"),
                                           _host(nsample, "hypergeometric"), size))

    def logseries(self, p, size=None):
        return _dev(self._g.logseries(_host(p, "logseries"), size))

    def poisson(self, lam=1.0, size=None):
        return _dev(self._g.poisson(_host(lam, "poisson"), size))

    def power(self, a, size=None):
        return _dev(self._g.power(_host(a, "power"), size))

    def binomial(self, n, p, size=None):
        return _dev(self._g.binomial(_host(n, "binomial"), _host(p, "binomial"), size))


def default_rng(seed=None):
    if isinstance(seed, Generator):
        return seed
    if isinstance(seed, BitGenerator):
        return Generator(seed)
    return Generator(XORWOW(seed))


class RandomState:
    """cupy.random.RandomState(seed=None, method=CURAND_RNG_PSEUDO_DEFAULT): the legacy generator; seed()
    re-seeds it in place (cheap on a GPU with the Philox method)."""

    def __init__(self, seed=None, method=_curand.CURAND_RNG_PSEUDO_DEFAULT):
        if method not in (100, 101, 121, 141, 142, 161):
            raise ValueError(f"unknown cuRAND generator {method!r}")
        self.method = method
        self.seed(seed)

    def seed(self, seed=None):
        self._g = _np.random.default_rng(_check_seed(seed))

    def random_sample(self, size=None, dtype=float):
        dt = _np.dtype(dtype)
        if dt.char not in "fd":
            raise TypeError(f"cupy.random only supports float32 and float64, got {dt}")
        return _dev(self._g.random(() if size is None else size, dtype=dt.type))

    def rand(self, *size, dtype=float):
        return self.random_sample(size, dtype)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return _dev(self._g.normal(_host(loc, "normal"), _host(scale, "normal"), size), dtype)

    def standard_normal(self, size=None, dtype=float):
        return self.normal(size=size, dtype=dtype)

    def randn(self, *size, dtype=float):
        return self.normal(size=size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return _dev(self._g.uniform(_host(low, "uniform"), _host(high, "uniform"), size), dtype)

    def randint(self, low, high=None, size=None, dtype="l"):
        return _dev(self._g.integers(low, high, size=size, dtype=dtype))

    def standard_exponential(self, size=None, dtype=float):
        return _dev(self._g.standard_exponential(size), dtype)

    def permutation(self, num):
        if isinstance(num, ndarray):
            return _dev(self._g.permutation(num._a))
        return _dev(self._g.permutation(num))

    def shuffle(self, a):
        if not isinstance(a, ndarray):
            raise TypeError("The array must be cupy.ndarray")
        self._g.shuffle(a._a)

    def choice(self, a, size=None, replace=True, p=None):
        return _dev(self._g.choice(_host(a, "choice"), size, replace, _host(p, "choice")))


_STATE = [None]


def get_random_state():
    if _STATE[0] is None:
        _STATE[0] = RandomState()
    return _STATE[0]


def set_random_state(rs):
    _STATE[0] = rs


def reset_states():
    _STATE[0] = None


def seed(seed=None):
    get_random_state().seed(seed)


def random_sample(size=None, dtype=float):
    return get_random_state().random_sample(size, dtype)


random = ranf = sample = random_sample


def rand(*size, dtype=float):
    return get_random_state().random_sample(size, dtype)


def randn(*size, dtype=float):
    return get_random_state().normal(size=size, dtype=dtype)


def normal(loc=0.0, scale=1.0, size=None, dtype=float):
    return get_random_state().normal(loc, scale, size, dtype)


def standard_normal(size=None, dtype=float):
    return get_random_state().normal(size=size, dtype=dtype)


def uniform(low=0.0, high=1.0, size=None, dtype=float):
    return get_random_state().uniform(low, high, size, dtype)


def randint(low, high=None, size=None, dtype="l"):
    return get_random_state().randint(low, high, size, dtype)


def permutation(num):
    return get_random_state().permutation(num)


def shuffle(a):
    get_random_state().shuffle(a)


def choice(a, size=None, replace=True, p=None):
    return get_random_state().choice(a, size, replace, p)
