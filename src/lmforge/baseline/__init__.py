"""Baselines every run is compared with; ``tfidf`` is also a model of its own (--model tfidf)."""
