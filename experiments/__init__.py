"""Experiments that play both parties: the reproduction of Chuman & Kiya (2021), Fig. 3.

This package imports ``keys`` (client) and ``trainer`` (cloud) side by side, which only an
experiment may do; the product packages keep them apart.
"""

__all__: list[str] = []
