"""Classification: which topics a document matches, how strongly, and why."""

from monitor.classify.topics import TopicClassifier

__all__ = ["TopicClassifier"]
