"""The rewriter's prompts: one for the VISA loop (and the GRPO data), one for the baseline.

Both share the system prompt; they differ only in the instruction. The loop's instruction comes
from :func:`~valuealign.visa.translator.gap_instruction` (what to move, built from the values'
definitions); the one-shot baseline just names the persona. The answer being rewritten is
model output, so it is delimited and labelled as the text to rewrite.

>>> msgs = rewrite_messages("Why vote?", "Voting decides who governs.", "Rewrite ...", "en")
>>> [m["role"] for m in msgs]
['system', 'user']
"""

from __future__ import annotations

import hashlib
import json

from valuealign.backends import Message
from valuealign.lang import fold_language

__all__ = ["TEMPLATE_VERSION", "persona_messages", "rewrite_messages", "template_hash"]

TEMPLATE_VERSION = "visa-rewrite-v1"

_T = {
    "en": {
        "system": (
            "You rewrite answers. You change the values an answer expresses and keep its "
            "meaning: every fact, number and name stays, nothing new is invented, and the "
            "language stays the same. You reply with the rewritten answer only, with no preamble "
            "and no comment."
        ),
        "user": (
            "Question:\n{query}\n\nAnswer to rewrite (between the tags):\n<answer>\n{answer}\n"
            "</answer>\n\n{instruction}"
        ),
        "persona": (
            "Rewrite the answer as {persona} would put it. Keep all facts, numbers and names. "
            "Reply with the rewritten answer only."
        ),
    },
    "zh": {
        "system": (
            "你负责改写回答：改变回答所体现的价值取向，同时保持其含义——所有事实、数字和名称都要保留，"
            "不编造新内容，语言保持不变。你只输出改写后的回答，不加任何开场白或说明。"
        ),
        "user": "问题：\n{query}\n\n需要改写的回答（位于标签之间）：\n<answer>\n{answer}\n</answer>\n\n{instruction}",
        "persona": "请以{persona}的口吻改写这个回答。保留所有事实、数字和名称。只输出改写后的回答。",
    },
}


def _lang(language: str | None) -> str:
    return fold_language(language, strict=False)  # lenient: the English prompt otherwise


def rewrite_messages(query: str, answer: str, instruction: str, language: str) -> list[Message]:
    """Chat messages asking the rewriter to apply ``instruction`` to ``answer``."""
    t = _T[_lang(language)]
    content = t["user"].format(
        query=query.strip(), answer=answer.strip(), instruction=instruction.strip()
    )
    return [{"role": "system", "content": t["system"]}, {"role": "user", "content": content}]


def persona_messages(query: str, answer: str, persona: str, language: str) -> list[Message]:
    """The one-shot baseline: the same rewriter, simply told to answer as the persona."""
    t = _T[_lang(language)]
    instruction = t["persona"].format(persona=persona.strip())
    return rewrite_messages(query, answer, instruction, language)


def template_hash() -> str:
    """Hash of the prompt templates (recorded in every record's provenance)."""
    payload = json.dumps({"version": TEMPLATE_VERSION, "templates": _T}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
