"""``lmforge inspect``: what is wrong with a data file before any training.

``checks`` holds the findings (pure functions over cleaned rows; the Unicode script
of letters is ``data.scripts``), ``run`` reads the files and gathers the findings,
``report`` writes inspect.md, the PNG histograms and the terminal summary.
``train`` runs the quick checks (``checks.train_warnings``) on numbers it has
already computed, and warns before it spends minutes training. Token data (``--task
tokens``): ``tokens`` gathers, ``token_checks`` holds the findings and the quick checks of
``train --task tokens`` (``token_train_warnings``).
"""
