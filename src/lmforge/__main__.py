"""``python -m lmforge``: the ``lmforge`` command, for launchers that start modules
(``accelerate launch -m lmforge train ...``, ``torchrun -m lmforge train ...``)."""

import sys

from lmforge.cli import main

if __name__ == "__main__":
    sys.exit(main())
