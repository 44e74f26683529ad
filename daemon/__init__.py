"""tocsin: a crisis-monitoring alert daemon."""

__version__ = "0.1.0"
