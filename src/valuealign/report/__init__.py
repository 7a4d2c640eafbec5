"""The static report of an evaluation run (report.html, scores.md, scores.csv)."""

from valuealign.report.html import write_report

__all__ = ["write_report"]
