"""minialbert: a readable ALBERT (Lan et al., 2019) in NumPy with a hand-written
backward pass for every op, and the same code on CUDA through CuPy."""
from .version import __version__
from .config import AlbertConfig, preset, PRESET_NAMES
from .model import (MODEL_CLASSES, AlbertForMaskedLM, AlbertForMultipleChoice, AlbertForPreTraining,
                    AlbertForQuestionAnswering, AlbertForSequenceClassification, AlbertForTokenClassification,
                    AlbertModel, AlbertPreTrainedModel, count_parameters)
from .io import CheckpointError
from .tokenization import AlbertTokenizer, BertWordPieceTokenizer, load_tokenizer
from .pipeline import pipeline
from .optim import LAMB, AdamW
from .training import PretrainingDataConfig, iter_examples, mask_tokens
from . import backend


__all__ = ["AlbertConfig", "preset", "PRESET_NAMES", "AlbertModel", "AlbertPreTrainedModel", "count_parameters",
           "AlbertForMaskedLM", "AlbertForPreTraining", "AlbertForSequenceClassification",
           "AlbertForTokenClassification", "AlbertForQuestionAnswering", "AlbertForMultipleChoice",
           "MODEL_CLASSES", "CheckpointError", "AlbertTokenizer", "BertWordPieceTokenizer", "load_tokenizer",
           "pipeline", "LAMB", "AdamW", "PretrainingDataConfig", "iter_examples", "mask_tokens", "backend"]
