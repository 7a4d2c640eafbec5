"""Inspect AI entry point: makes `inspect eval valuealign/vcbench` find the task."""

from valuealign.evaluate.inspect_task import vcbench

__all__ = ["vcbench"]
