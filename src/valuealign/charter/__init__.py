"""Value charters: the values a model must hold, declared as data (YAML), in zh and en.

>>> from valuealign.charter import load_charter
>>> charter = load_charter("builtin:balanced-v1")
>>> [s.id for _, s in charter.subdomains()][:2]
['sovereignty-territory', 'political-systems']
"""

from valuealign.charter._loader import (
    DEFAULT_CHARTER,
    charter_hash,
    list_builtin_charters,
    load_charter,
    parse_charter,
)
from valuealign.charter._prompt import ACTOR_TEMPLATE_VERSION, actor_system_prompt, template_hash
from valuealign.charter._scaffold import SCAFFOLD
from valuealign.charter._schema import Charter, Domain, Lexicon, Subdomain
from valuealign.lang import LANGS as LANGUAGES

__all__ = [
    "ACTOR_TEMPLATE_VERSION",
    "DEFAULT_CHARTER",
    "LANGUAGES",
    "SCAFFOLD",
    "Charter",
    "Domain",
    "Lexicon",
    "Subdomain",
    "actor_system_prompt",
    "charter_hash",
    "list_builtin_charters",
    "load_charter",
    "parse_charter",
    "template_hash",
]
