"""The three kinds of failure a user meets, and how each one ends.

``UserError`` is bad input (a charter, a config, a JSONL line, a flag): the CLI prints one line
that names the file, the line and the fix, exits with code 2 and shows no traceback.
``BackendError`` is a model server or local model that failed after its retries; long jobs record
it on the item and go on. Both messages pass through :func:`valuealign.redact.redact`, so an
API key, an ``Authorization`` value or a URL's password never reaches a record or stderr. ``MissingExtra`` is a ``UserError`` that names the exact install line.

>>> raise UserError("charter.yaml:12: unknown key 'postions'", fix="did you mean 'positions'?")
"""

from __future__ import annotations


class ValueAlignError(Exception):
    """Base class of every error valuealign raises on purpose."""


class UserError(ValueAlignError):
    """Bad input. Exit code 2, one clear message, no traceback."""

    exit_code = 2

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        from valuealign.redact import redact

        self.message = redact(message)
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class BackendError(ValueAlignError):
    """A backend request failed for good (after retries)."""

    def __init__(self, message: str, *, backend: str = "", retryable: bool = False) -> None:
        from valuealign.redact import redact

        message = redact(message)  # a server may echo the key or the URL's password back
        self.backend = backend
        self.retryable = retryable
        super().__init__(f"{backend}: {message}" if backend else message)


class MissingExtra(UserError):
    """An optional dependency is not installed; names the pip line that installs it."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the optional package '{package}', which is not installed",
            fix=f"pip install 'valuealign[{extra}]'",
        )
