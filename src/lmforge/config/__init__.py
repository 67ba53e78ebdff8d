"""One dataclass per command; field docstrings are the --help text.

Owns: the config dataclass machinery (``base``: field docstrings, YAML loading,
coercion and validation that report every problem at once), the training config
(``train``) and the one bridge between config dataclasses and argparse with the
``--recipe`` / ``--config`` / flags layering (``cli``). The other stages keep their
own config dataclass beside their code (``compress/config.py``, ...) and build their
flags with ``config.cli``. Nothing here imports another lmforge package but ``errors``.
"""
