"""Scores and how they are shown: metrics (accuracy, precision/recall/F1 per class and
macro, confusion matrix), generation metrics (BLEU, ROUGE, perplexity), the PNG plots and
the markdown report and model card of a run. Pure functions over predictions and numbers:
nothing here loads a model or a run directory."""
