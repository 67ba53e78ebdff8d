"""Why the model decided: word attributions (Integrated Gradients, occlusion) and their
terminal / HTML rendering. ``explain(run_dir_or_classifier, texts, method=...)`` is the entry
point; importing this package imports neither torch nor captum."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Explanation", "TokenExplanation", "explain", "explain_tokens"]

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.explain.attribute import Explanation, explain
    from lmforge.explain.tokens import TokenExplanation, explain_tokens


def __getattr__(name: str) -> Any:
    if name in ("TokenExplanation", "explain_tokens"):
        from lmforge.explain import tokens

        return getattr(tokens, name)
    if name in __all__:
        from lmforge.explain import attribute

        return getattr(attribute, name)
    raise AttributeError(f"module 'lmforge.explain' has no attribute {name!r}")
