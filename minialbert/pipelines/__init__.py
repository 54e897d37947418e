"""minialbert's task pipelines, one per head, with HF's task names, arguments and output shapes.

`minialbert.pipeline(task, model=..., ...)` builds them (see minialbert/pipeline.py, which also holds
fill-mask). Tasks: fill-mask, text-classification (sentiment-analysis), token-classification (ner),
question-answering, feature-extraction.
"""
from .common import PipelineError
from .feature_extraction import FeatureExtractionPipeline
from .question_answering import QuestionAnsweringPipeline
from .text_classification import TextClassificationPipeline
from .token_classification import TokenClassificationPipeline

__all__ = ["PipelineError", "FeatureExtractionPipeline", "QuestionAnsweringPipeline", "TextClassificationPipeline",
           "TokenClassificationPipeline"]
