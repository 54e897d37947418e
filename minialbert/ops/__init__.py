"""Ops: each a ``*_forward`` that returns ``(out, cache)`` and a mirrored
``*_backward`` that takes ``(dout, cache, ...)``, returns the input gradient and
**adds** (+=) parameter gradients into buffers it is handed (llm.c style). The
``+=`` is what lets a weight shared by 12 or 24 layers collect every use.

No op imports numpy: each asks the backend for the namespace of its inputs
(``xp = array_module(x)``), so the same code runs under cupy.
"""
from .linear import linear_forward, linear_backward
from .embedding import embedding_forward, embedding_backward
from .layernorm import layernorm_forward, layernorm_backward
from .activations import activation_forward, activation_backward, ACTIVATION_FNS
from .softmax import softmax_forward, softmax_backward
from .dropout import dropout_forward, dropout_backward
from .attention import AttentionCache, attention_backward, attention_forward, attention_mask_bias, attention_scores
from .feedforward import FeedForwardCache, feedforward_backward, feedforward_forward
from .losses import (cross_entropy_forward, cross_entropy_backward, mse_forward, mse_backward,
                     bce_with_logits_forward, bce_with_logits_backward, check_class_labels, IGNORE_INDEX)
