"""Broadsheet's benchmark harness (issue 4): ``python -m bench.run`` or ``make bench``."""
