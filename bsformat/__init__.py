"""bsformat: the bs-encrypt file format, its writer and its one reader.

Both sides import this package: the client (``encrypt_tool``) to write files, the cloud
(``trainer``) to read them. It imports neither of them, nor ``keys``, nor torch.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
