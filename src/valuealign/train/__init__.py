"""Training stages: continued pre-training, instruction tuning and adversarial LoRA, via TRL.

Importing this package is cheap; torch, transformers, TRL and PEFT load only when a stage runs.

>>> from valuealign.train import load_stage_config, run_stage
>>> cfg = load_stage_config("sft", "builtin:sft", {"max_steps": 5})
>>> manifest = run_stage(cfg)
>>> manifest["loss_history"][-1], manifest["drift"]["en"]
"""

from valuealign.train.config import (
    STAGE_CONFIGS,
    STAGES,
    AdversarialStageConfig,
    ChainConfig,
    CPTStageConfig,
    DataSource,
    LoraSettings,
    SFTStageConfig,
    StageConfig,
    load_chain_config,
    load_stage_config,
)
from valuealign.train.runner import merge_adapter, run_chain, run_stage

__all__ = [
    "STAGES",
    "STAGE_CONFIGS",
    "AdversarialStageConfig",
    "CPTStageConfig",
    "ChainConfig",
    "DataSource",
    "LoraSettings",
    "SFTStageConfig",
    "StageConfig",
    "load_chain_config",
    "load_stage_config",
    "merge_adapter",
    "run_chain",
    "run_stage",
]
