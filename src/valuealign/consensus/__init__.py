"""Cross-cultural consensus: cultural agents from values-survey data, PSRO negotiation, PBA/VSC.

>>> import numpy as np
>>> from valuealign.consensus import solve, nash_conv
>>> rps = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
>>> mixtures = solve([rps, -rps], "lp")
>>> round(nash_conv([rps, -rps], mixtures), 6)
0.0
"""

from valuealign.consensus.solvers import METHODS, expected_payoffs, nash_conv, solve

__all__ = ["METHODS", "expected_payoffs", "nash_conv", "solve"]
