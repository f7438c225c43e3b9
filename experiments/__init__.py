"""Experiments that play both parties: the reproduction of Chuman & Kiya (2021), Fig. 3
(``bs-reproduce``), the privacy-accuracy frontier (``python -m experiments.frontier``), the
recognition test (``python -m experiments.recognition``), the public-solver scores and
gpu-check (``python -m experiments.gpu_check``). ``experiments.settings`` lists the settings
they measure, as :class:`encrypt_tool.setting.Setting` values.

This package imports ``keys`` (client) and ``trainer`` (cloud) side by side, which only an
experiment may do; the product packages keep them apart.
"""

__all__: list[str] = []
