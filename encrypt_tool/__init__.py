"""bs-encrypt: block-scrambling image encryption for privacy-preserving deep learning.

Importing this package is cheap and imports neither ``keys`` nor ``torch``; the submodules are
imported where they are used. The version is the format package's: one for all commands.
"""

from bsformat import __version__

__all__ = ["__version__"]
