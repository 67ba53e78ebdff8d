"""How each kind of classifier is trained: one recipe per way, built on shared steps.

- ``classifier.train_classifier(cfg)``: the entry (``lmforge.train`` calls it): prepare the
  data once, then run the recipe that ``--model`` / ``--method`` pick.
- ``prepare``: from a ``TrainConfig`` to ``Prepared`` (the splits, labels, base model,
  method and the ``DataSummary``); the split itself is ``data.split.split_for_training``.
- recipes, each ``run(cfg, prepared) -> TrainResult`` and readable top to bottom:
  ``finetune`` (a classification head, all weights trained), ``setfit`` (contrastive
  sentence pairs, then logistic regression) and ``tfidf`` (``--model tfidf``).
- ``steps``: what the recipes share (class weights, the checks before training, the
  TF-IDF baseline and its verdict, tokenizing the splits, metrics.json's ``train``,
  writing the run directory); ``summary``: the ``DataSummary`` (metrics.json ``data``).
- components: the loop (``loop``), optimizer and schedule (``optim``), losses
  (``losses``), ``--ensemble`` (``ensemble``), per-step tracking (``tracking``) and the
  report's training sections (``notes``).
"""
