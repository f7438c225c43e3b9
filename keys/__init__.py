"""Client-side key management: the master key and the per-image block permutations.

Only the data owner imports this package; ``trainer`` never does.
"""

from keys.derive import (
    BlockStates,
    derive_block_states,
    derive_dataset_id,
    derive_permutations,
    derive_seed_words,
)
from keys.master import (
    KEY_BYTES,
    KeyError_,
    default_key_path,
    fingerprint,
    generate_key,
    load_key,
    resolve_key_path,
    write_key,
)

__all__ = [
    "KEY_BYTES",
    "BlockStates",
    "KeyError_",
    "default_key_path",
    "derive_block_states",
    "derive_dataset_id",
    "derive_permutations",
    "derive_seed_words",
    "fingerprint",
    "generate_key",
    "load_key",
    "resolve_key_path",
    "write_key",
]
