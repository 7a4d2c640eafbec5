"""Model backends behind one async protocol, addressed as ``provider/model``.

>>> import asyncio
>>> from valuealign.backends import GenerateConfig, get_backend, user
>>> backend = get_backend("mock/echo")
>>> asyncio.run(backend.generate(user("hello"), GenerateConfig())).text
'hello'
"""

from valuealign.backends._types import (
    CAPABILITIES,
    ChatBackend,
    ChoiceLogprobs,
    Completion,
    GenerateConfig,
    Message,
    TokenLogprob,
    TokenLogprobs,
    aclose_all,
    capability,
    forward_capabilities,
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
from valuealign.backends.registry import (
    describe,
    get_backend,
    parse_spec,
    release_local_backends,
)

__all__ = [
    "CAPABILITIES",
    "CachedBackend",
    "ChatBackend",
    "ChoiceLogprobs",
    "Completion",
    "FunctionBackend",
    "GenerateConfig",
    "Message",
    "RequestCache",
    "ScriptedBackend",
    "TokenLogprob",
    "TokenLogprobs",
    "aclose_all",
    "capability",
    "describe",
    "forward_capabilities",
    "get_backend",
    "note_served",
    "parse_spec",
    "public_url",
    "register_mock",
    "release_local_backends",
    "request_key",
    "served_by",
    "unregister_mock",
    "user",
]
