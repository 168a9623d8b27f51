"""Benchmarks: scripts run by hand (``python benchmarks/NAME.py``), speed goals live here."""
