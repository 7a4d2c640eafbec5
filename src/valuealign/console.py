"""What a person sees: third-party noise off unless ``valuealign -v``.

Off by default: transformers/TRL/datasets/accelerate warnings and info logs, Hugging Face
download and loading bars, ``FutureWarning``s from those libraries, and the trainer's raw
``{'loss': ...}`` dicts (the training stages print one formatted line per log step instead).
"""

from __future__ import annotations

import logging
import os
import warnings

_NOISY_LIBS = ("transformers", "trl", "datasets", "accelerate", "peft", "torch", "huggingface_hub")
_ENV = {
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
_verbose = False


def is_verbose() -> bool:
    return _verbose


def set_verbose(verbose: bool) -> None:
    """``True``: leave every library's output alone; ``False``: quiet them (the default)."""
    global _verbose
    _verbose = verbose
    if verbose:
        return
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    for lib in _NOISY_LIBS:
        logging.getLogger(lib).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", category=FutureWarning, module=rf"{lib}(\.|$)")
        warnings.filterwarnings("ignore", category=UserWarning, module=rf"{lib}(\.|$)")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=rf"{lib}(\.|$)")
