"""valuealign: make a language model hold a declared set of values, and prove it with numbers.

The public API is re-exported here; implementation lives in the subpackages. Importing this
package never imports torch (local models load it on first use).

>>> import valuealign
>>> charter = valuealign.load_charter("builtin:balanced-v1")
>>> backend = valuealign.get_backend("mock/echo")
"""

__version__ = "0.1.0"

from valuealign.backends import (
    ChatBackend,
    Completion,
    GenerateConfig,
    RequestCache,
    get_backend,
)
from valuealign.charter import Charter, load_charter
from valuealign.errors import BackendError, MissingExtra, UserError

__all__ = [
    "BackendError",
    "Charter",
    "ChatBackend",
    "Completion",
    "GenerateConfig",
    "MissingExtra",
    "RequestCache",
    "UserError",
    "__version__",
    "get_backend",
    "load_charter",
]
