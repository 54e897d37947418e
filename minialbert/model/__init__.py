"""The model layer: parameter names and shapes (params), the backbone as forward/backward pairs
(backbone), the base class that holds state and dispatches (base), the heads, outputs and the
porter's trace."""
from .base import AlbertModel, AlbertPreTrainedModel, BackboneCache
from .backbone import EmbeddingsCache, EncoderCache, LayerCache, PoolerCache
from .heads import (MODEL_CLASSES, AlbertForMaskedLM, AlbertForMultipleChoice, AlbertForPreTraining,
                    AlbertForQuestionAnswering, AlbertForSequenceClassification, AlbertForTokenClassification)
from ..outputs import ModelOutput
from .params import backbone_specs, count_parameters, sublayer_prefixes
