"""The frontier search: the encryption settings that hide the most for the least accuracy.

One grid of :class:`~encrypt_tool.setting.Setting` values (:mod:`.grid`), measured in stages so
that it fits a CPU, each stage resumable (rows already in its results file are skipped):

- ``a``: leakage of every setting under every attack of the audit, the learned ones included
  (trained on images that are not audited), on CIFAR-10 training images or 224-px photos
  (:mod:`.leakage`);
- ``b``: accuracy at the quick budget, only for the settings that meet the leakage goal
  (:mod:`.goal`), beside the references (:mod:`.accuracy`);
- ``c``: the best three at the reference budget; ``d``: the winner and the references at the
  full budget (``bs-train --resume`` continues a training cut short);
- ``report``: the Pareto front, leakage against accuracy, as a table and a chart (:mod:`.report`).

``python -m experiments.frontier_search --stage a --out DIR`` (``make frontier-search``).
"""

__all__: list[str] = []
