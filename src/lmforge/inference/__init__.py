"""How a loaded model predicts: one surface, one module per backend.

- ``surface``: the ``Predictor`` protocol (``task``, ``labels``, ``classes_``, ``logits``,
  ``predict``, ``predict_proba``) and ``PredictSurface``, which turns any backend's
  logits into probabilities and labels the same way.
- ``torch`` (transformers and SetFit models, the batched forward passes), ``onnx``
  (ONNX Runtime), ``setfit`` (the SetFit model's torch module), ``tfidf`` (n-grams and a
  linear model), ``ensemble`` (a transformer blended with its TF-IDF baseline).
- ``rows``: the one prediction-row format (``{"text", "label", "prob_<label>"...}``) that
  the API and the service client return.
- ``stream``: ``lmforge predict``: the input read chunk by chunk (``data.stream``), each
  row written back with ``predicted_label`` and ``prob_<label>`` columns added.

Which backend a run directory needs, and loading it, is ``lmforge.runs``.
"""
