"""``python -m lmforge.serve RUN_DIR ...``: the serve command on its own (benchmarks and
tests start the server this way; users run ``lmforge serve``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from lmforge.errors import LmforgeError
    from lmforge.log import setup_logging
    from lmforge.serve.cli import add_serve_cli

    parser = argparse.ArgumentParser(prog="python -m lmforge.serve")
    add_serve_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    setup_logging(0)
    try:
        return int(args.handler(args))
    except LmforgeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
