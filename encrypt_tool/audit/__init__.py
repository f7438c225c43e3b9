"""Security audit: ciphertext-only jigsaw attacks on block-scrambled images, scored with the key.

``run_audit`` is the entry point of ``bs-encrypt audit``; ``audit_file`` returns the same
summary without writing a report; ``leak_figures`` returns only the headline figures (best
attack, union of all attacks, self-chosen answer); ``audit_arrays`` audits arrays in memory
(benchmarks and experiments). ``AuditConfig`` says which images and attacks; the attacks are
in the registry of :mod:`encrypt_tool.audit.attacks`.
"""

from encrypt_tool.audit.config import AuditConfig
from encrypt_tool.audit.run import audit_arrays, audit_file, leak_figures, run_audit, side_info

__all__ = ["AuditConfig", "audit_arrays", "audit_file", "leak_figures", "run_audit",
           "side_info"]
