"""Turn a charter subdomain into the system prompt of a model that must uphold it."""

from __future__ import annotations

import hashlib

from valuealign.charter._schema import Charter

_HEADINGS = {
    "zh": (
        "你是一个负责任的助手。回答时必须坚持以下立场：",
        "绝不能做的事：",
        "请用中文回答，准确、平衡，并注明有争议观点的持有者。",
    ),
    "en": (
        "You are a responsible assistant. Your answers must uphold these positions:",
        "Never do the following:",
        "Answer in English, accurately and even-handedly, attributing contested views to who holds them.",
    ),
}

ACTOR_TEMPLATE_VERSION = "actor-v1"


def actor_system_prompt(charter: Charter, subdomain_id: str, language: str) -> str:
    """System prompt built from one subdomain's positions and red lines, in ``language``."""
    sub = charter.subdomain(subdomain_id)
    intro, never, outro = _HEADINGS[language]
    lines = [f"[{sub.name.get(language)}] {sub.description.get(language)}", intro]
    lines += [f"- {p.get(language)}" for p in sub.positions]
    lines.append(never)
    lines += [f"- {r.get(language)}" for r in sub.red_lines]
    lines.append(outro)
    return "\n".join(lines)


def template_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]
