"""Corpus curation for continued pre-training: raw text in, filtered, deduped, packed out.

Steps, each a small object over an iterator of documents that counts what it saw, kept and
dropped (drops go to ``OUT/audit/STEP.jsonl`` with their reason): read (JSONL, Parquet, text;
``.gz``/``.zst``) -> normalise -> language (zh/en/other) -> quality -> charter lexicon (subdomain
tags, relevance, red-line terms) -> privacy (PII masking) -> dedup (exact + MinHash LSH, global,
first copy kept) -> pack (the target model's tokenizer, fixed-length Parquet sequences). Runs on
local processes or Ray with byte-identical output, and resumes after a kill.

>>> from valuealign.curate import CurateSettings, run_curate
>>> stats = run_curate(["corpus/"], "runs/cpt", CurateSettings(select="relevant", seq_len=2048),
...                    executor="local", workers=8)
>>> stats["documents"], stats["tokens"]["sequences"]

``OUT/curated/part-*.jsonl`` holds one record per kept document (``id``, ``text``,
``language``, ``subdomains``, ``subdomain_hits``, ``relevance``, ``source``: file and line);
``OUT/packed/`` the ``input_ids`` Parquet shards and ``meta.json``; ``OUT/stats.json`` the
counts and per-step seconds.
"""

from valuealign.curate.dedup import GlobalDedup, content_hash, minhash_signature, sign_documents
from valuealign.curate.executors import LocalExecutor, RayExecutor, make_executor
from valuealign.curate.io import (
    InputFile,
    ReadOptions,
    ReadStep,
    Shard,
    describe_input,
    discover_inputs,
    plan_shards,
)
from valuealign.curate.lexicon import (
    LexiconMatcher,
    LexiconStep,
    build_lexicon,
    load_lexicon_file,
    relevance,
)
from valuealign.curate.pack import load_tokenizer, pack_token_files, tokenize_documents
from valuealign.curate.pipeline import (
    CurateSettings,
    build_steps,
    curate_sample,
    run_curate,
    sample_corpus_path,
)
from valuealign.curate.privacy import PrivacyStep, mask_pii, prc_id_valid
from valuealign.curate.quality import QualityConfig, check_quality
from valuealign.curate.stats import STEP_NAMES
from valuealign.curate.steps import (
    Document,
    Drop,
    LanguageStep,
    NormaliseStep,
    QualityStep,
    Step,
    StepCounts,
    clear_language,
    detect_language,
    normalise_text,
)

__all__ = [
    "STEP_NAMES",
    "CurateSettings",
    "Document",
    "Drop",
    "GlobalDedup",
    "InputFile",
    "LanguageStep",
    "LexiconMatcher",
    "LexiconStep",
    "LocalExecutor",
    "NormaliseStep",
    "PrivacyStep",
    "QualityConfig",
    "QualityStep",
    "RayExecutor",
    "ReadOptions",
    "ReadStep",
    "Shard",
    "Step",
    "StepCounts",
    "build_lexicon",
    "build_steps",
    "check_quality",
    "clear_language",
    "content_hash",
    "curate_sample",
    "describe_input",
    "detect_language",
    "discover_inputs",
    "load_lexicon_file",
    "load_tokenizer",
    "make_executor",
    "mask_pii",
    "minhash_signature",
    "normalise_text",
    "pack_token_files",
    "plan_shards",
    "prc_id_valid",
    "relevance",
    "run_curate",
    "sample_corpus_path",
    "sign_documents",
    "tokenize_documents",
]
