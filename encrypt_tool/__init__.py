"""bs-encrypt: block-scrambling image encryption for privacy-preserving deep learning.

Importing this package is cheap and imports neither ``keys`` nor ``torch``; the submodules are
imported where they are used.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
