"""Agreement between coders: Cohen's kappa (textbook formula).

kappa = (p_o - p_e) / (1 - p_e), with p_o the observed share of units on which the two coders
agree and p_e the agreement expected by chance from each coder's own category shares
(Cohen 1960). When p_e is 1 (both coders used one and the same category throughout) kappa is
undefined; like scikit-learn we return 1.0 if they agree everywhere, else 0.0.
"""

from __future__ import annotations

from collections import Counter
from typing import Hashable, Sequence


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa for two coders' nominal categories over the same units."""
    if len(a) != len(b):
        raise ValueError("both coders must code the same units")
    n = len(a)
    if n == 0:
        return 0.0
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)
