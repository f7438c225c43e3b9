"""Security audit: ciphertext-only jigsaw attacks on block-scrambled images, scored with the key.

``run_audit`` is the entry point of ``bs-encrypt audit``; ``audit_arrays`` audits arrays in
memory (benchmarks and the settings comparison).
"""

from encrypt_tool.audit.run import audit_arrays, run_audit

__all__ = ["audit_arrays", "run_audit"]
