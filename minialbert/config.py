"""AlbertConfig: one dataclass for the whole ALBERT family.

Dimension letters used in shape comments throughout minialbert:
    B  batch size                 T  sequence length
    V  vocab_size                 E  embedding_size (factorised, paper §3.1)
    H  hidden_size                I  intermediate_size (feed-forward width)
    NH num_attention_heads        HS head size = H / NH
    L  num_hidden_layers          G  num_hidden_groups
    C  number of choices (multiple choice), K number of labels
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

ACTIVATIONS = ("gelu_new", "gelu", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh", "linear")
SHARE_TYPES = ("all", "attention", "ffn", "none")
LN_TYPES = ("postln", "preln")
EMBEDDING_LAYOUTS = ("albert", "albert_zh")
PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")


# Integer fields: (smallest, largest) accepted. The upper bounds are far above every released ALBERT
# (xxlarge: H 4096, I 16384, 12 layers; V 30,000 or 21,128) and below sizes that cannot be run.
_INT_LIMITS = {
    "vocab_size": (1, 2_000_000), "embedding_size": (1, 65_536), "hidden_size": (1, 65_536),
    "num_hidden_layers": (1, 1_024), "num_hidden_groups": (1, 1_024), "num_attention_heads": (1, 4_096),
    "intermediate_size": (1, 262_144), "inner_group_num": (1, 64), "max_position_embeddings": (1, 131_072),
    "type_vocab_size": (1, 1_024), "pad_token_id": (-1, 2_000_000), "bos_token_id": (-1, 2_000_000),
    "eos_token_id": (-1, 2_000_000), "num_labels": (1, 1_000_000),
}


@dataclass
class AlbertConfig:
    # Field names and defaults follow Hugging Face's AlbertConfig (whose defaults
    # are the xxlarge shape), so any HF config.json round-trips.
    vocab_size: int = 30000
    embedding_size: int = 128
    hidden_size: int = 4096
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    num_attention_heads: int = 64
    intermediate_size: int = 16384
    inner_group_num: int = 1
    hidden_act: str = "gelu_new"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    classifier_dropout_prob: Optional[float] = 0.1
    position_embedding_type: str = "absolute"
    pad_token_id: int = 0
    bos_token_id: int = 2
    eos_token_id: int = 3
    # heads
    num_labels: int = 2
    problem_type: Optional[str] = None
    id2label: Optional[Dict[int, str]] = None
    # variants of the albert_pytorch port
    share_type: str = "all"   # which sublayers are shared across layers (paper §3.1, Table 4)
    ln_type: str = "postln"   # postln: LN(x + f(x)) as in BERT/ALBERT; preln: x + f(LN(x))
    # "albert": V x E lookup, LayerNorm at width E, then embedding_hidden_mapping_in E -> H (Google/HF).
    # "albert_zh": brightmart's original Chinese layout: V x E lookup, word_embeddings_2 E -> H
    #   (no bias), position/token-type/LayerNorm at width H, MLM head H -> H then back through
    #   word_embeddings_2 (the albert_pytorch port's model).
    embedding_layout: str = "albert"
    # Anything else found in a config file is kept here and written back.
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self):
        """Types, ranges and sizes, checked once at construction: a bad config.json is one clear error
        naming the field, before any array is made (a shared layer makes 10^7 layers cheap to load and
        endless to run; a huge vocabulary would allocate gigabytes from a 1 KB file)."""
        def fail(name, expected):
            raise ValueError(f"config field {name} = {getattr(self, name)!r}: expected {expected}")
        for name, (lo, hi) in _INT_LIMITS.items():
            v = getattr(self, name)
            if isinstance(v, numbers.Integral) and not isinstance(v, (bool, int)):
                v = int(v)                  # a NumPy integer (np.int64 from a sweep) is an integer
                setattr(self, name, v)
            if isinstance(v, bool) or not isinstance(v, int):
                fail(name, f"an integer from {lo} to {hi:,}")
            if not lo <= v <= hi:
                fail(name, f"an integer from {lo} to {hi:,}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout_prob"):
            v = getattr(self, name)
            if v is None and name == "classifier_dropout_prob":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v < 1.0:
                fail(name, "a number in [0, 1)")
        for name in ("initializer_range", "layer_norm_eps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                fail(name, "a finite number > 0")
        for name in ("hidden_act", "share_type", "ln_type", "embedding_layout", "position_embedding_type"):
            if not isinstance(getattr(self, name), str):
                fail(name, "a string")
        if self.id2label is not None and not isinstance(self.id2label, dict):
            fail("id2label", "an object {index: label}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                             f"num_attention_heads {self.num_attention_heads}")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act {self.hidden_act!r} is not supported; choose one of {ACTIVATIONS}")
        if self.share_type not in SHARE_TYPES:
            raise ValueError(f"share_type {self.share_type!r}; expected one of {SHARE_TYPES}")
        if self.ln_type not in LN_TYPES:
            raise ValueError(f"ln_type {self.ln_type!r}; expected one of {LN_TYPES}")
        if self.embedding_layout not in EMBEDDING_LAYOUTS:
            raise ValueError(f"embedding_layout {self.embedding_layout!r}; expected one of {EMBEDDING_LAYOUTS}")
        if self.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type {self.problem_type!r}; expected one of {PROBLEM_TYPES}")
        if self.position_embedding_type != "absolute":
            raise NotImplementedError(
                f"position_embedding_type {self.position_embedding_type!r}: only 'absolute' "
                "(the one every released ALBERT uses) is implemented")
        if not 1 <= self.num_hidden_groups <= self.num_hidden_layers:
            raise ValueError(f"num_hidden_groups {self.num_hidden_groups} must be in 1..num_hidden_layers")

    # ------------------------------------------------------------ derived
    @property
    def zh_projection(self) -> bool:
        """albert_zh layout with E != H: the word_embeddings_2 projection exists."""
        return self.embedding_layout == "albert_zh" and self.embedding_size != self.hidden_size

    @property
    def head_size(self) -> int:  # HS
        return self.hidden_size // self.num_attention_heads

    def group_of_layer(self, i: int) -> int:
        """HF's rule: layer i of L runs group int(i / (L / G))."""
        return int(i / (self.num_hidden_layers / self.num_hidden_groups))

    # ------------------------------------------------------------ files
    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "AlbertConfig":
        """From an HF config.json or a Google albert_config.json dict."""
        if not isinstance(d, dict):
            raise ValueError(f"a config must be a JSON object {{field: value}}, got {type(d).__name__}")
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        google = "model_type" not in d and "architectures" not in d
        if google and d.get("hidden_act") == "gelu":
            # Google's modeling.py `gelu` is the tanh approximation, i.e. HF's gelu_new.
            d["hidden_act"] = "gelu_new"
        if "id2label" in d and d["id2label"] is not None:
            if not isinstance(d["id2label"], dict):
                raise ValueError(f"config field id2label = {d['id2label']!r}: expected an object {{index: label}}")
            try:
                d["id2label"] = {int(k): v for k, v in d["id2label"].items()}
            except ValueError:
                raise ValueError(f"config field id2label: keys must be integers, got {list(d['id2label'])[:3]}") from None
            d.setdefault("num_labels", len(d["id2label"]))
        kwargs = {k: v for k, v in d.items() if k in known}
        extra = {k: v for k, v in d.items() if k not in known and k != "extra"}
        if d.get("classifier_dropout_prob", 0.1) is None:
            kwargs["classifier_dropout_prob"] = None
        return cls(**kwargs, extra=extra)

    @classmethod
    def from_json_file(cls, path) -> "AlbertConfig":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: " + ("no such file" if not path.exists() else "not a regular file"))
        if path.stat().st_size > 1_000_000:
            raise ValueError(f"{path}: {path.stat().st_size:,} bytes is not a config file")
        try:
            d = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
            return cls.from_dict(d)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        except (ValueError, TypeError, NotImplementedError) as e:
            raise ValueError(f"{path}: {e}") from None

    @classmethod
    def from_pretrained(cls, path) -> "AlbertConfig":
        """A directory with config.json (HF) or albert_config.json (Google), or a file."""
        path = Path(path)
        if path.is_dir():
            for name in ("config.json", "albert_config.json"):
                if (path / name).exists():
                    return cls.from_json_file(path / name)
            raise FileNotFoundError(f"{path}: no config.json or albert_config.json")
        if name_in_presets(str(path)):
            return preset(str(path))
        return cls.from_json_file(path)

    def to_dict(self) -> Dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        if d["id2label"] is None:
            d.pop("id2label")
        d.update(self.extra)
        d["model_type"] = "albert"
        return d

    def to_json_file(self, path):
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def replace(self, **changes) -> "AlbertConfig":
        return dataclasses.replace(self, **changes)


def _no_constant(name):
    raise ValueError(f"{name} is not a valid number in a config")


# Presets: the released shapes (google-research/albert configs). v1 and v2 share
# shapes; v2 drops dropout and (for base/large) uses gelu_new throughout.
_SHAPES = {
    "base": dict(hidden_size=768, num_attention_heads=12, intermediate_size=3072, num_hidden_layers=12),
    "large": dict(hidden_size=1024, num_attention_heads=16, intermediate_size=4096, num_hidden_layers=24),
    "xlarge": dict(hidden_size=2048, num_attention_heads=16, intermediate_size=8192, num_hidden_layers=24),
    "xxlarge": dict(hidden_size=4096, num_attention_heads=64, intermediate_size=16384, num_hidden_layers=12),
}


def _preset_dict(name: str) -> Dict[str, Any]:
    n = name.split("/")[-1]
    if not n.startswith("albert-"):
        raise KeyError(name)
    size, _, version = n[len("albert-"):].rpartition("-")
    if size not in _SHAPES or version not in ("v1", "v2"):
        raise KeyError(name)
    d = dict(vocab_size=30000, embedding_size=128, num_hidden_groups=1, inner_group_num=1,
             max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
             initializer_range=0.02, hidden_act="gelu_new", **_SHAPES[size])
    if version == "v1":
        d.update(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    return d


def name_in_presets(name: str) -> bool:
    try:
        _preset_dict(name)
        return True
    except KeyError:
        return False


def preset(name: str) -> AlbertConfig:
    """Config of a released model: 'albert-base-v2', 'albert/albert-xxlarge-v1', ..."""
    try:
        return AlbertConfig(**_preset_dict(name))
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: " + ", ".join(PRESET_NAMES)) from None


PRESET_NAMES = tuple(f"albert-{s}-{v}" for v in ("v1", "v2") for s in _SHAPES)
