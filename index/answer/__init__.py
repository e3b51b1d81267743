"""Answering: reading the question, picking the sentence and its highlighted span."""
