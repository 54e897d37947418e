"""Pretraining data: MLM + sentence-order examples from a plain-text corpus."""
from .data import (PretrainingBatches, PretrainingDataConfig, VocabInfo, collate, create_examples_from_document,
                   iter_examples, mask_tokens, prediction_budget, vocab_info, word_units)

__all__ = ["PretrainingBatches", "PretrainingDataConfig", "VocabInfo", "collate", "create_examples_from_document",
           "iter_examples", "mask_tokens", "prediction_budget", "vocab_info", "word_units"]
