"""Models as weights: building and loading transformers classifiers (``build``), the
registry of offline encoders with their licences and the converters that materialise them
in the cache (``registry``, ``convert_e5``, ``convert_m3e``, ``lmforge models``),
attention-head surgery (``structure``) and the TF-IDF model of ``--model tfidf`` and of
every run's baseline (``tfidf``). How a loaded model predicts is ``lmforge.inference``."""
