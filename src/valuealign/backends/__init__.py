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
    request_key,
    user,
)
from valuealign.backends.cache import CachedBackend, RequestCache
from valuealign.backends.mock import (
    FunctionBackend,
    ScriptedBackend,
    register_mock,
    unregister_mock,
)
from valuealign.backends.registry import (
    describe,
    get_backend,
    parse_spec,
    release_local_backends,
)

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
    "parse_spec",
    "register_mock",
    "release_local_backends",
    "request_key",
    "unregister_mock",
    "user",
]
