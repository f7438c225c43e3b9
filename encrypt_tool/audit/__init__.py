"""Security audit: ciphertext-only jigsaw attacks on block-scrambled images, scored with the key.

``run_audit`` is the entry point of ``bs-encrypt audit``; ``audit_file`` returns the same
summary without writing a report; ``leak_figures`` returns only the headline figures (best
attack, union of all attacks, self-chosen answer); ``audit_arrays`` audits arrays in memory
(benchmarks and the settings comparison).
"""

from encrypt_tool.audit.run import audit_arrays, audit_file, leak_figures, run_audit

__all__ = ["audit_arrays", "audit_file", "leak_figures", "run_audit"]
