"""Repair rules (chapter 3): whatever a decoder emits becomes a network that runs and trains.

* :mod:`.engine` — :func:`repair` (the contract: minimal change, valid input returned unchanged) and
  :data:`RULES`, the rules in the order they run;
* :mod:`.arrays` — the array rules: reading a decoder's op scores, edges and attribute rows;
* :mod:`.passes` — the structural passes over the whole skeleton (one source, one sink, orphans, arity, ...);
* :mod:`.emit`, :mod:`.attributes` — the shapes pass that emits node by node and applies the node rules;
* :mod:`.damage` — seeded damage of a vector representation (the chapter's robustness study).

The package is named after its method; the function is ``nasvec.repair`` (``from nasvec import repair``)
and ``nasvec.repair_rules.repair``.
"""

from .arrays import problem, raw_arrays, valid_before_repair
from .attributes import (MAX_CHANNELS, MAX_DILATION, MAX_ELEMENTS, MAX_KERNEL, MAX_LAYER_PARAMS, MAX_STRIDE,
                         MAX_TOTAL_PARAMS)
from .engine import RULES, Rule, changes_table, repair, rule_table

__all__ = ["MAX_CHANNELS", "MAX_DILATION", "MAX_ELEMENTS", "MAX_KERNEL", "MAX_LAYER_PARAMS", "MAX_STRIDE",
           "MAX_TOTAL_PARAMS", "RULES",
           "Rule", "changes_table", "problem", "raw_arrays", "repair", "rule_table", "valid_before_repair"]
