"""Generate the PyTorch ``.bin`` fixtures in tests/fixtures/bin/.

A developer tool only: torch and transformers are never a test or runtime
dependency of minialbert. The tests read the committed files with
``minialbert.torch_pickle.read_torch_bin`` (NumPy only). Run it from the
repository root with the separate fixture environment (see scripts/README.md;
never install torch into the main Python):

    /work/fixenv/bin/python scripts/make_bin_fixtures.py            # writes tests/fixtures/bin
    /work/fixenv/bin/python scripts/make_bin_fixtures.py --out DIR  # writes elsewhere

What it writes (about 130 KB in all):

  zip.bin        torch.save(sd, f): the zip format that torch >= 1.6 writes
  legacy.bin     torch.save(sd, f, _use_new_zipfile_serialization=False): the
                 older sequence-of-pickles format
  expected.npz   the values of every tensor of ``sd`` as NumPy arrays
                 (bfloat16 widened to float32), written with NumPy, and those of
                 the nested state dict below as "nested.<name>"
  nested.bin     a training-style checkpoint {"epoch", "state_dict", "optimizer"}
                 (zip format) whose "state_dict" holds ``nested_state_dict()``
  hf_mlm/        pytorch_model.bin + config.json: tests/fixtures/hf/mlm re-saved
                 as torch.save(model.state_dict(), "pytorch_model.bin")
  hf_mlm_legacy/ the same in the legacy format

``sd`` covers every case the reader must handle: float32/float16/bfloat16/
float64/complex64, int64/int32/int16/int8/uint8, bool, a 0-d tensor, an empty
tensor, a transposed (non-contiguous) view, a broadcast view (stride 0), a
strided slice, two tensors that share one storage at different offsets, and an
nn.Parameter. zip.bin additionally holds a uint16 tensor: dtypes that have no
legacy ``<Type>Storage`` class are written as ``torch.storage.UntypedStorage``
(element count in bytes) plus ``_rebuild_tensor_v3(..., dtype)``. The legacy
format can save such a tensor but torch 2.13 cannot load it back, so it is left
out of legacy.bin.

transformers 5 ignores ``save_pretrained(safe_serialization=False)`` (it always
writes model.safetensors), so hf_mlm/pytorch_model.bin is written with
torch.save of the state dict, which is what save_pretrained did for .bin files
in transformers 4. The state dict keeps the tied copies
``predictions.decoder.weight`` (shares storage with
``albert.embeddings.word_embeddings.weight``) and ``predictions.decoder.bias``
(shares storage with ``predictions.bias``); model.safetensors omits them.

Determinism: torch's zip writer already uses fixed timestamps and the archive
name is taken from the file name, so the zip files are byte-identical across
runs. The legacy format names each storage by its memory address
(``str(storage._cdata)``), which changes from run to run; after torch.save this
script renames the storages "0", "1", ... in order of first use and writes the
storage records in that order (the same bytes otherwise), then checks that
torch.load of the rewritten file still gives the original tensors.
expected.npz is written with fixed zip timestamps.
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import shutil
import struct
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch
import transformers
from transformers import AlbertForMaskedLM

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HF_MLM = os.path.join(REPO_ROOT, "tests", "fixtures", "hf", "mlm")


def fixture_state_dict():
    """The small state dict saved as zip.bin and legacy.bin (``u16`` only in zip.bin)."""
    g = torch.Generator().manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    sd = OrderedDict()
    sd["f32"] = randn(3, 4)
    sd["f16"] = randn(5).half()
    sd["bf16"] = randn(2, 3).bfloat16()
    sd["f64"] = randn(3).double()
    sd["c64"] = torch.complex(randn(2), randn(2))
    sd["i64"] = torch.tensor([-3, 0, 2**40 + 7, -(2**62)], dtype=torch.int64)
    sd["i32"] = torch.tensor([[-(2**31), 5], [7, 2**31 - 1]], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True, True])
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["transposed"] = randn(3, 5).t()  # shape (5, 3), stride (1, 5)
    sd["broadcast"] = randn(3)[None].expand(2, 3)  # stride (0, 1)
    sd["stepped"] = torch.arange(12, dtype=torch.int64).reshape(3, 4)[1:, ::2]  # offset 4, stride (4, 2)
    shared = torch.arange(10.0)
    sd["x"] = shared[2:5]  # storage offset 2
    sd["y"] = shared[5:]  # same storage, offset 5
    sd["param"] = torch.nn.Parameter(randn(4))
    assert not sd["transposed"].is_contiguous() and sd["broadcast"].stride() == (0, 1)
    assert sd["x"].untyped_storage().data_ptr() == sd["y"].untyped_storage().data_ptr()
    return sd


def zip_only_tensors():
    return OrderedDict(u16=torch.tensor([1, 300, 65535], dtype=torch.uint16))


def nested_state_dict():
    g = torch.Generator().manual_seed(1)
    return OrderedDict(w=torch.randn(2, 3, generator=g), b=torch.randn(2, generator=g))


def to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach()
    if t.dtype == torch.bfloat16:
        t = t.float()  # exact: bfloat16 is the top half of a float32
    return t.contiguous().numpy().copy()


def save_npz_deterministic(path, arrays):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            arr = np.asarray(arr)
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, buf.getvalue())


# ---------------------------------------------------------------------------
# Legacy format: deterministic storage keys
# ---------------------------------------------------------------------------

class _ScanUnpickler(pickle.Unpickler):
    """Reads torch's own output (trusted here) just to list the storages in order of first use."""

    def __init__(self, f):
        super().__init__(f)
        self.storages = OrderedDict()  # key -> element size

    def find_class(self, module, name):
        if module.startswith("torch"):
            return lambda *args: None  # rebuild functions: the values are not needed
        return super().find_class(module, name)

    def persistent_load(self, pid):
        typename, storage_type, key, _location, _numel = pid[:5]
        assert typename == "storage", pid
        self.storages.setdefault(key, storage_type)
        return None


def _elem_size(storage_type_global):
    module, name = storage_type_global
    if name == "UntypedStorage":
        return 1
    return torch._utils._element_size(torch.storage._get_dtype_from_pickle_storage_type(name))


def make_legacy_deterministic(raw: bytes) -> bytes:
    f = io.BytesIO(raw)
    for _ in range(3):  # magic number, protocol version, sys_info
        pickle.load(f)
    head = raw[:f.tell()]
    main_start = f.tell()

    class Scan(_ScanUnpickler):
        def find_class(self, module, name):
            if name.endswith("Storage"):
                return (module, name)
            return super().find_class(module, name)

    sc = Scan(f)
    sc.load()
    main = raw[main_start:f.tell()]
    old_keys = pickle.load(f)
    types = dict(sc.storages)
    assert sorted(old_keys) == sorted(types), (old_keys, types)
    records = {}
    for key in old_keys:
        (count,) = struct.unpack("<q", f.read(8))
        records[key] = struct.pack("<q", count) + f.read(count * _elem_size(types[key]))
    assert f.read() == b"", "trailing bytes after the storage records"

    rename = {old: str(i) for i, old in enumerate(sc.storages)}
    for old, new in rename.items():
        enc = lambda s: b"X" + struct.pack("<I", len(s)) + s.encode()  # BINUNICODE
        assert main.count(enc(old)) >= 1, old  # once per tensor: a shared storage appears again
        main = main.replace(enc(old), enc(new))
    new_order = list(sc.storages)  # order of first use
    keys_pickle = pickle.dumps([rename[k] for k in new_order], protocol=2)
    return head + main + keys_pickle + b"".join(records[k] for k in new_order)


def save_legacy(obj, path):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False)
    data = make_legacy_deterministic(buf.getvalue())
    with open(path, "wb") as f:
        f.write(data)
    check_same(torch.load(path, weights_only=False), obj, path)


def check_same(loaded, original, path):
    assert list(loaded) == list(original), path
    for k, v in original.items():
        w = loaded[k]
        if isinstance(v, torch.Tensor):
            assert w.dtype == v.dtype and w.shape == v.shape and torch.equal(w, v), (path, k)
        elif isinstance(v, dict):
            check_same(w, v, path)
        else:
            assert w == v, (path, k)


def save_zip(obj, path):
    torch.save(obj, path)
    check_same(torch.load(path, weights_only=True), obj, path)


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "fixtures", "bin"))
    args = ap.parse_args(argv)
    out = args.out
    os.makedirs(out, exist_ok=True)

    sd = fixture_state_dict()
    sd_zip = OrderedDict(sd)
    sd_zip.update(zip_only_tensors())
    save_zip(sd_zip, os.path.join(out, "zip.bin"))
    save_legacy(sd, os.path.join(out, "legacy.bin"))
    nested = {"epoch": 3, "state_dict": nested_state_dict(),
              "optimizer": {"lr": 0.001, "step": torch.tensor(10)}}
    save_zip(nested, os.path.join(out, "nested.bin"))
    expected = {k: to_numpy(v) for k, v in sd_zip.items()}
    expected.update({"nested." + k: to_numpy(v) for k, v in nested["state_dict"].items()})
    save_npz_deterministic(os.path.join(out, "expected.npz"), expected)

    model = AlbertForMaskedLM.from_pretrained(HF_MLM)
    state = model.state_dict()
    tied = [k for k in state if k.startswith("predictions.decoder.")]
    for sub, saver in (("hf_mlm", save_zip), ("hf_mlm_legacy", save_legacy)):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        shutil.copyfile(os.path.join(HF_MLM, "config.json"), os.path.join(d, "config.json"))
        saver(state, os.path.join(d, "pytorch_model.bin"))

    total = 0
    for root, _, files in os.walk(out):
        for name in sorted(files):
            p = os.path.join(root, name)
            total += os.path.getsize(p)
            print(f"{os.path.relpath(p, out):34s} {os.path.getsize(p):8d} bytes")
    print(f"total {total} bytes; torch {torch.__version__}, transformers {transformers.__version__}; "
          f"tied keys in the HF state dict: {tied}")


if __name__ == "__main__":
    sys.exit(main())
