"""Image sources for ``bs-encrypt dataset``: CIFAR-10, a synthetic set, .npz files, folders.

``open_source(spec)`` returns a ``Source`` whose splits read uint8 batches (B, H, W, C) on demand;
split objects are cheap to pickle, so they can be sent to worker processes.
"""

from encrypt_tool.sources.base import Source, SourceError, SplitSource
from encrypt_tool.sources.spec import SPEC_FORMS, open_source

__all__ = ["SPEC_FORMS", "Source", "SourceError", "SplitSource", "open_source"]
