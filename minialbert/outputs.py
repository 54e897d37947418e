"""ModelOutput: a dict whose keys are also attributes (HF's field names)."""


class ModelOutput(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"output has no field {name!r}; fields: {sorted(self)}") from None

    def __setattr__(self, name, value):
        self[name] = value

    def to_tuple(self):
        return tuple(self.values())
