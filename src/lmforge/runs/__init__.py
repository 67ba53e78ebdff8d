"""What a run directory is, and how any kind of run loads.

The files themselves (atomic writes, ``check_run_dir``, the one reader and writer of
``config.yaml``, the ``run.json`` manifest) are ``lmforge.rundir``, in the bottom layer
beside ``config`` and ``data``, so that the model registry can write atomically too.

- ``kinds``: the kinds of run (transformers, setfit, tfidf, onnx, ensemble), the
  ``run.json`` manifest every writer leaves, and the one place that tells a run's kind
  (from the manifest, or from the files of a run written before it).
- ``load``: ``load_run(RUN_DIR)``, whatever its kind.
- ``ensemble``: the files of an ensemble run (``ensemble.json``, ``baseline/``).
- ``listing`` and ``cli``: ``lmforge runs list`` / ``lmforge runs diff``.

How a loaded model predicts is ``lmforge.inference``.
"""
