"""Training: MLM + SOP pretraining from a plain-text corpus, and fine-tuning.

`masking` (paper §4.1 n-gram masking), `examples` (documents to SOP examples),
`stream` (resumable batches from a corpus file), `pretrain` (the training loop
and its checkpoints), `finetune` (sequence classification). The two loops are used as
`from minialbert.training.pretrain import TrainConfig, pretrain` (and likewise `finetune`): they are
not re-exported here, so that `minialbert.training.pretrain` stays the module, not the function.
"""
from .examples import collate, create_examples_from_document
from .masking import PretrainingDataConfig, VocabInfo, mask_tokens, prediction_budget, vocab_info, word_units
from .stream import PretrainingBatches, iter_examples

__all__ = ["PretrainingBatches", "PretrainingDataConfig", "VocabInfo", "collate", "create_examples_from_document",
           "iter_examples", "mask_tokens", "prediction_budget", "vocab_info", "word_units"]
