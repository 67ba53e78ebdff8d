"""What a run directory is, and how any kind of run loads.

- ``layout``: the files (atomic writes, ``check_run_dir``, the one reader and writer of
  ``config.yaml``); the bottom layer, beside ``config`` and ``data``.
- ``kinds``: the kinds of run (transformers, setfit, tfidf, onnx, ensemble), the
  ``run.json`` manifest every writer leaves, and the one place that tells a run's kind
  (from the manifest, or from the files of a run written before it).
- ``load``: ``load_run(RUN_DIR)``, whatever its kind.
- ``ensemble``: the files of an ensemble run (``ensemble.json``, ``baseline/``).
- ``listing`` and ``cli``: ``lmforge runs list`` / ``lmforge runs diff``.

How a loaded model predicts is ``lmforge.inference``.
"""
