"""One dataclass per command; field docstrings are the --help text."""
