"""Typed, strict configuration for the training stages.

Each stage has one small config: the knobs people actually change (model, data and mixing,
sequence length, batch and accumulation, learning rate and schedule, epochs or steps, LoRA,
eval split, seed, precision, gradient checkpointing, output). Unknown keys are errors that name
the file and line (exit code 2). :func:`valuealign.train.trl_adapter.training_arguments` is the
one place that turns a config into TRL/transformers arguments; TRL's own config classes are never
exposed or subclassed.

>>> cfg = SFTStageConfig(model="hf/smollm2-135m-instruct", data=["pairs.jsonl"], out="runs/sft")
>>> cfg.lora.enabled, cfg.seq_len
(False, 1024)
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from valuealign.errors import UserError
from valuealign.yamlfile import allowed_keys, line_for, line_map, load_yaml

Stage = Literal["cpt", "sft", "adversarial", "rewriter"]
STAGES: tuple[str, ...] = ("cpt", "sft", "adversarial")
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]
Tracker = Literal["none", "tensorboard", "wandb", "mlflow"]
_TRACKER_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}
# TRL arguments the stage config itself sets: trl_args may not set them a second time
OWNED_TRL_ARGS = {
    "output_dir": "out",
    "per_device_train_batch_size": "batch_size",
    "per_device_eval_batch_size": "batch_size",
    "gradient_accumulation_steps": "grad_accum",
    "learning_rate": "learning_rate",
    "lr_scheduler_type": "lr_scheduler",
    "warmup_steps": "warmup_ratio",
    "warmup_ratio": "warmup_ratio",
    "num_train_epochs": "epochs",
    "max_steps": "max_steps",
    "seed": "seed",
    "data_seed": "seed",
    "bf16": "precision",
    "fp16": "precision",
    "use_cpu": "precision",
    "gradient_checkpointing": "gradient_checkpointing",
    "activation_checkpointing": "gradient_checkpointing",
    "logging_steps": "logging_steps",
    "save_steps": "save_steps",
    "report_to": "report_to",
    "max_length": "seq_len",
    "packing": "packing",
    "use_liger_kernel": "liger_kernel",
    "num_generations": "num_generations",
    "max_completion_length": "max_completion_length",
    "temperature": "temperature",
    "beta": "beta",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataSource(_Strict):
    """One data file (or a curation output folder) and its share of the mix."""

    path: str
    weight: Annotated[float, Field(gt=0)] = 1.0


class LoraSettings(_Strict):
    enabled: bool = False
    r: Annotated[int, Field(ge=1)] = 16
    alpha: Annotated[int, Field(ge=1)] = 32
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.05
    targets: str | list[str] = "all-linear"
    qlora: bool = False  # 4-bit base weights (needs a CUDA GPU and bitsandbytes)


class StageConfig(_Strict):
    """Settings every stage shares."""

    stage: Stage
    model: str = "hf/smollm2-135m-instruct"
    data: list[DataSource] = Field(min_length=1)
    out: str
    strict_decontam: bool = False
    """Stop (exit 1) when the data overlaps the benchmark (default: warn and record it)."""
    seq_len: Annotated[int, Field(ge=16)] = 1024
    batch_size: Annotated[int, Field(ge=1)] = 4
    grad_accum: Annotated[int, Field(ge=1)] = 1
    learning_rate: Annotated[float, Field(gt=0)] = 2e-5
    lr_scheduler: Scheduler = "cosine"
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.03
    epochs: Annotated[float, Field(gt=0)] = 1.0
    max_steps: Annotated[int, Field(ge=1)] | None = None
    lora: LoraSettings = Field(default_factory=LoraSettings)
    merge: bool = False  # LoRA stages: also write the merged model to OUT/merged
    eval_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.05
    seed: int = 42
    precision: Precision = "auto"
    gradient_checkpointing: bool = False
    # GPU speed knobs: attention kernel ("sdpa", "flash_attention_2", "flex_attention"; None =
    # the model's default) and Liger's fused linear + cross-entropy (never materialises logits)
    attn_implementation: str | None = None
    liger_kernel: bool = False
    save_steps: Annotated[int, Field(ge=1)] = 200
    logging_steps: Annotated[int, Field(ge=1)] = 10
    drift: bool = True  # perplexity on the shipped held-out text, trained vs base
    drift_max_tokens: Annotated[int, Field(ge=64)] = 2048
    # experiment tracking: one or several of tensorboard, wandb, mlflow (or none)
    report_to: list[Tracker] = Field(default_factory=lambda: ["none"])
    # escape hatch: other arguments of TRL's config class (SFTConfig; GRPOConfig for the
    # rewriter), checked against its fields before anything loads
    trl_args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("report_to", mode="before")
    @classmethod
    def _trackers_as_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("report_to")
    @classmethod
    def _none_alone(cls, v: list[str]) -> list[str]:
        if not v:
            return ["none"]
        if "none" in v and len(v) > 1:
            raise ValueError("'none' cannot be combined with a tracker")
        return list(dict.fromkeys(v))

    @field_validator("data", mode="before")
    @classmethod
    def _paths_as_sources(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            return [{"path": x} if isinstance(x, str) else x for x in v]
        return v


class CPTStageConfig(StageConfig):
    """Continued pre-training: causal LM on raw text or on curated, packed shards."""

    stage: Literal["cpt"] = "cpt"
    text_field: str = "text"
    packing: bool = True
    learning_rate: Annotated[float, Field(gt=0)] = 5e-5


class SFTStageConfig(StageConfig):
    """Instruction tuning on chat ``messages``; loss on the last assistant turn only."""

    stage: Literal["sft"] = "sft"
    packing: bool = False  # padding-free packing of whole conversations


class SFTMix(_Strict):
    data: list[DataSource] = Field(min_length=1)
    ratio: Annotated[float, Field(ge=0, lt=1)] = 0.2  # share of the final mix from this data

    @field_validator("data", mode="before")
    @classmethod
    def _paths_as_sources(cls, v: Any) -> Any:
        return StageConfig._paths_as_sources(v)


class AdversarialStageConfig(StageConfig):
    """LoRA on the kept Attacker/Actor/Critic pairs, optionally mixed with SFT data."""

    stage: Literal["adversarial"] = "adversarial"
    packing: bool = False
    lora: LoraSettings = Field(default_factory=lambda: LoraSettings(enabled=True))
    learning_rate: Annotated[float, Field(gt=0)] = 2e-4
    sft_mix: SFTMix | None = None


class ChainConfig(_Strict):
    """Three stages back to back; each starts from the previous stage's output.

    ``model`` and ``out`` are set once here; a stage's own ``model``/``out`` are not allowed
    (the chain decides them: OUT/cpt, OUT/sft, OUT/adversarial).
    """

    model: str = "hf/smollm2-135m-instruct"
    out: str
    cpt: dict[str, Any] | None = None
    sft: dict[str, Any] | None = None
    adversarial: dict[str, Any] | None = None


STAGE_CONFIGS: dict[str, type[StageConfig]] = {
    "cpt": CPTStageConfig,
    "sft": SFTStageConfig,
    "adversarial": AdversarialStageConfig,
}

# --- loading with file:line errors -------------------------------------------------------


def read_yaml(path: str | Path) -> tuple[dict[str, Any], dict, str]:
    """(data, key path -> line, display name) of a YAML mapping file; UserError otherwise."""
    from valuealign.configs import resolve_config

    p = resolve_config(path, "train")
    name = str(path)
    if not p.is_file():
        raise UserError(f"{name}: config file not found", fix="check the path")
    from valuealign.records import decode_text

    data, node = load_yaml(decode_text(p.read_bytes(), name), name)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(
            f"{name}:1: a config must be a YAML mapping",
            fix="see `builtin:sft` (valuealign train sft --config builtin:sft)",
        )
    return data, (line_map(node, name) if node is not None else {}), name


def validate(
    model: type[BaseModel],
    data: dict[str, Any],
    *,
    name: str = "<config>",
    lines: dict | None = None,
    prefix: tuple[str, ...] = (),
) -> Any:
    """``model.model_validate(data)``; the first problem becomes a UserError with file:line."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = sorted(e.errors(), key=lambda x: x["type"] != "extra_forbidden")
        err = errors[0]
        loc = tuple(str(p) for p in err["loc"])
        where = (*prefix, *loc)
        line = line_for(lines or {}, where)
        at = f"{name}:{line}" if line else name
        key = ".".join(where) or "(top level)"
        if err["type"] == "extra_forbidden":
            allowed = allowed_keys(model, loc)
            close = difflib.get_close_matches(loc[-1], allowed, n=1)
            fix = (
                f"did you mean '{close[0]}'?"
                if close
                else f"allowed keys here: {', '.join(allowed)}"
            )
            raise UserError(f"{at}: unknown key '{key}'", fix=fix) from None
        if err["type"] == "missing":
            raise UserError(
                f"{at}: missing required key '{key}'", fix=f"add '{loc[-1]}:'"
            ) from None
        raise UserError(
            f"{at}: '{key}': {err['msg']}",
            fix="see the documented examples builtin:cpt, builtin:sft, builtin:adversarial",
        ) from None


def load_stage_config(
    stage: str, path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> StageConfig:
    """Read a stage config file (optional), apply CLI overrides, validate strictly."""
    if stage not in STAGE_CONFIGS:
        raise UserError(f"unknown stage {stage!r}", fix=f"use one of {', '.join(STAGE_CONFIGS)}")
    data: dict[str, Any] = {}
    lines: dict = {}
    name = "<command line>"
    if path is not None:
        data, lines, name = read_yaml(path)
        declared = data.get("stage", stage)
        if declared != stage:
            raise UserError(
                f"{name}:{line_for(lines, ('stage',)) or 1}: this config is for stage "
                f"'{declared}', not '{stage}'",
                fix=f"run `valuealign train {declared}` or change 'stage:'",
            )
    data = with_overrides({**data, "stage": stage}, overrides, name)
    cfg = validate(STAGE_CONFIGS[stage], data, name=name, lines=lines)
    check_trl_extras(cfg, "SFTConfig", name=name, lines=lines)
    return cfg


def check_trl_extras(
    cfg: StageConfig,
    config_class: str,
    *,
    name: str = "<config>",
    lines: dict | None = None,
    prefix: tuple[str, ...] = (),
) -> None:
    """``trl_args`` against the fields of TRL's ``config_class``; trackers installed."""
    import importlib.util

    for tracker in cfg.report_to:
        package = _TRACKER_PACKAGES.get(tracker)
        if package and importlib.util.find_spec(package) is None:
            line = line_for(lines or {}, (*prefix, "report_to"))
            raise UserError(
                f"{name}{f':{line}' if line else ''}: report_to {tracker} needs the package "
                f"'{package}', which is not installed",
                fix=f"pip install {package} (or report_to: none)",
            )
    if not cfg.trl_args:
        return
    import dataclasses

    import trl

    fields = {f.name for f in dataclasses.fields(getattr(trl, config_class))}
    for key in cfg.trl_args:
        line = line_for(lines or {}, (*prefix, "trl_args", key))
        at = f"{name}:{line}" if line else name
        if key in OWNED_TRL_ARGS:
            raise UserError(
                f"{at}: 'trl_args.{key}' is set by the stage config",
                fix=f"use the config's own key '{OWNED_TRL_ARGS[key]}:' instead",
            )
        if key not in fields:
            close = difflib.get_close_matches(key, sorted(fields), n=1)
            raise UserError(
                f"{at}: unknown key 'trl_args.{key}': not an argument of TRL {trl.__version__}'s "
                f"{config_class}",
                fix=f"did you mean '{close[0]}'?"
                if close
                else f"see the fields of trl.{config_class}",
            )


def with_overrides(data: dict[str, Any], overrides: dict[str, Any] | None, name: str) -> dict:
    """The config data with the command line's flags applied (None = not given)."""
    data = dict(data)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "lora_enabled":
            data["lora"] = {**(data.get("lora") or {}), "enabled": value}
        else:
            data[key] = value
    if "out" not in data:
        raise UserError(f"{name}: no output folder", fix="set 'out:' in the config or pass --out")
    return data


def load_chain_config(
    path: str | Path, overrides: dict[str, Any] | None = None
) -> tuple[ChainConfig, list[StageConfig]]:
    """The chain and its stages, validated; each stage's model is the previous stage's output."""
    data, lines, name = read_yaml(path)
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    chain = validate(ChainConfig, data, name=name, lines=lines)
    stages: list[StageConfig] = []
    model = chain.model
    present = [s for s in STAGES if getattr(chain, s) is not None]
    if not present:
        raise UserError(
            f"{name}: the chain has no stages", fix="add cpt:, sft: and/or adversarial:"
        )
    for i, stage in enumerate(present):
        section = dict(getattr(chain, stage))
        for forbidden in ("model", "out", "stage"):
            if forbidden in section:
                line = line_for(lines, (stage, forbidden)) or 1
                raise UserError(
                    f"{name}:{line}: '{stage}.{forbidden}' is set by the chain",
                    fix=f"remove it; the chain sets it (model: previous stage, out: OUT/{stage})",
                )
        section.update(stage=stage, model=model, out=str(Path(chain.out) / stage))
        cfg = validate(STAGE_CONFIGS[stage], section, name=name, lines=lines, prefix=(stage,))
        check_trl_extras(cfg, "SFTConfig", name=name, lines=lines, prefix=(stage,))
        if cfg.lora.enabled and i < len(present) - 1:
            cfg.merge = True  # the next stage starts from a full model
        stages.append(cfg)
        model = "hf/" + str(Path(cfg.out) / "merged" if cfg.lora.enabled else Path(cfg.out))
    return chain, stages


def model_folder(spec: str) -> Path:
    """A loadable folder for ``hf/NAME``, ``hf/PATH``, ``NAME`` or ``PATH``."""
    from valuealign.backends.hf import resolve_model_path

    if spec.startswith(("openai/", "mock/")):
        raise UserError(
            f"cannot train {spec!r}: training needs local weights",
            fix="use hf/<embedded name>, hf/PATH/TO/FOLDER or hf/PATH/TO/model.gguf",
        )
    return resolve_model_path(spec.removeprefix("hf/"))


def adapter_base(adapter: Path) -> str:
    """The base model of a LoRA adapter folder: its manifest's ``base_model``, else PEFT's
    ``base_model_name_or_path``."""
    import json

    from valuealign.runs import read_manifest

    manifest = adapter / "manifest.json"
    if manifest.exists():
        base = read_manifest(manifest).get("base_model")
        if base is not None:
            return str(base)
    return json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
