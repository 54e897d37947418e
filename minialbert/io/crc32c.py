"""CRC-32C (Castagnoli), the checksum of TF checkpoints' blocks and tensors.

The `google-crc32c` or `crc32c` package computes it in C when one is installed
(`pip install google-crc32c`); otherwise this table-driven loop does, one byte at a
time (about 10 MB/s: seconds for albert-base, a minute or two for xxlarge).
"""
from __future__ import annotations

try:                                            # the C implementations, when installed
    from google_crc32c import extend as _extend

    def _accelerated(data, value):
        return _extend(value, bytes(data))
except ImportError:
    try:
        from crc32c import crc32c as _crc32c_pkg

        def _accelerated(data, value):
            return _crc32c_pkg(bytes(data), value)
    except ImportError:
        _accelerated = None

_POLY = 0x82F63B78  # the Castagnoli polynomial, bit-reflected


def _make_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _make_table()


def crc32c(data, value: int = 0) -> int:
    """CRC-32C of `data` (bytes-like); pass a previous result as `value` to continue it."""
    if _accelerated is not None:
        return _accelerated(data, value)
    reg, t = value ^ 0xFFFFFFFF, _TABLE
    for b in memoryview(data).cast("B"):
        reg = t[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg ^ 0xFFFFFFFF
