"""The one attribute-dict: a dict whose keys are also attributes, as HF's ModelOutput and BatchEncoding."""
from typing import Any


class AttrDict(dict):
    def __getattr__(self, name: str) -> Any:
        # Only consulted when normal lookup fails; dunder names must raise AttributeError so that
        # copy and pickle keep working.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; fields: {sorted(self)}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


class ModelOutput(AttrDict):
    """What a model returns (HF's field names: loss, logits, hidden_states, ...)."""

    def to_tuple(self):
        return tuple(self.values())
