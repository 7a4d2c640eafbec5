"""Model backends behind one async protocol, addressed as ``provider/model``.

>>> import asyncio
>>> from valuealign.backends import GenerateConfig, get_backend, user
>>> backend = get_backend("mock/echo")
>>> asyncio.run(backend.generate(user("hello"), GenerateConfig())).text
'hello'
"""

from valuealign.backends._types import (
    ChatBackend,
    Completion,
    GenerateConfig,
    Message,
    TokenLogprob,
    aclose_all,
    note_served,
    public_url,
    request_key,
    served_by,
    user,
)
from valuealign.backends.cache import CachedBackend, RequestCache
from valuealign.backends.mock import (
    FunctionBackend,
    ScriptedBackend,
    register_mock,
    unregister_mock,
)
from valuealign.backends.registry import describe, get_backend, parse_spec

__all__ = [
    "CachedBackend",
    "ChatBackend",
    "Completion",
    "FunctionBackend",
    "GenerateConfig",
    "Message",
    "RequestCache",
    "ScriptedBackend",
    "TokenLogprob",
    "aclose_all",
    "describe",
    "get_backend",
    "note_served",
    "parse_spec",
    "public_url",
    "register_mock",
    "request_key",
    "served_by",
    "unregister_mock",
    "user",
]
