"""Classification: which topics a document matches, and the evidence."""

from monitor.classify.keywords import KeywordClassifier

__all__ = ["KeywordClassifier"]
