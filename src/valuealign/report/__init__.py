"""Every report valuealign writes, on one page design (:mod:`valuealign.report.page`).

- :func:`write_report`: an evaluation run's report.html, scores.md and scores.csv
  (:mod:`~valuealign.report.evaluation`);
- :func:`~valuealign.report.visa.write_eval_report`: the VISA rewrite evaluation
  (:mod:`~valuealign.report.visa`);
- :func:`~valuealign.report.consensus.write_consensus_report` and
  :func:`~valuealign.report.consensus.write_validation_report`: a negotiation and an agent
  validation (:mod:`~valuealign.report.consensus`).

The shared parts: :mod:`~valuealign.report.page` (head, Content-Security-Policy, fonts, header,
"Read this first", sections, tables), :mod:`~valuealign.report.charts` (inline SVG charts with
a wide and a narrow layout), :mod:`~valuealign.report.tables` (number formats, Markdown cells)
and :mod:`~valuealign.report.assets` (the stylesheet, the item browser's script).
"""

from valuealign.report.evaluation import write_report

__all__ = ["write_report"]
