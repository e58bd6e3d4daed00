"""Doctest collection over the package: skip the torch-only modules where torch is absent."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("torch") else ["sk_unlearn/nets.py"]
