"""Test helpers that are real things: a loopback OpenAI-compatible server.

Used by the test suite and by the throughput benchmarks; it binds to 127.0.0.1 only.
"""

from valuealign.testing.server import FakeOpenAIServer, Fault

__all__ = ["FakeOpenAIServer", "Fault"]
