"""Every file in configs/accelerate/ loads with accelerate's own config classes, as ``accelerate
launch --config_file`` reads it (unknown or misspelt keys fail there); the FSDP and DeepSpeed
files go on through the launcher's own steps (arguments -> environment of the ranks) into the
plugins the ranks build from that environment, without starting a process or importing
deepspeed (not installed here)."""

import json
import os
from pathlib import Path
from unittest import mock

import pytest
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin
from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs" / "accelerate").glob("*.yaml"))


def _launch_env(config: Path) -> tuple[dict[str, str], object]:
    """The environment ``accelerate launch --config_file CONFIG -m rdistill train X`` gives each
    rank (launch_command's steps, less starting the processes)."""
    args = launch_command_parser().parse_args(["--config_file", str(config),
                                               "-m", "rdistill", "train", "recipe.yaml"])
    args, defaults, mixed_precision_from_file = _validate_launch_command(args)
    if args.use_deepspeed:
        fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mixed_precision_from_file else [])
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        return prepare_deepspeed_cmd_env(args)[1], args
    return prepare_multi_gpu_env(args), args


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_accelerate_config_loads(path):
    config = load_config_from_file(str(path))
    assert isinstance(config, ClusterConfig) and config.num_processes >= 2
    assert not config.use_cpu  # --cpu would select accelerate's one-process launcher
    # each file says the command that uses it
    assert f"--config_file configs/accelerate/{path.name}" in path.read_text()


@pytest.mark.parametrize("name", ["ddp-cpu.yaml", "ddp-gpu.yaml"])
def test_ddp_configs_use_the_torchrun_launcher(name):
    assert load_config_from_file(str(ROOT / "configs" / "accelerate" / name)).distributed_type.value == "MULTI_GPU"


def test_fsdp_config_full_shard_by_decoder_layer(monkeypatch):
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer

    monkeypatch.chdir(ROOT)
    env, args = _launch_env(ROOT / "configs" / "accelerate" / "fsdp.yaml")
    assert args.use_fsdp and env["ACCELERATE_USE_FSDP"] == "true"
    with mock.patch.dict(os.environ, env):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True  # FSDP2's FULL_SHARD
    assert plugin.auto_wrap_policy.__name__ == "transformer_auto_wrap_policy"
    assert plugin.transformer_cls_names_to_wrap == [LlamaDecoderLayer.__name__]
    assert plugin.state_dict_type.name == "FULL_STATE_DICT"  # student/ gets whole weights


@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_config_and_its_json(monkeypatch, stage):
    monkeypatch.chdir(ROOT)  # the yaml names its JSON relative to the repository root
    env, args = _launch_env(ROOT / "configs" / "accelerate" / f"deepspeed-zero{stage}.yaml")
    assert args.use_deepspeed and env["ACCELERATE_USE_DEEPSPEED"] == "true"
    with mock.patch.dict(os.environ, env):
        plugin = DeepSpeedPlugin()  # reads the JSON; refuses fields given twice (yaml and JSON)
    assert plugin.zero_stage == stage
    raw = json.loads(Path(env["ACCELERATE_DEEPSPEED_CONFIG_FILE"]).read_text())
    assert raw["zero_optimization"]["stage"] == stage
    # the recipe decides these: the Trainer fills every "auto" from its arguments
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                "gradient_clipping"):
        assert raw[key] == "auto", key
    assert raw["bf16"] == raw["fp16"] == {"enabled": "auto"}
    assert "optimizer" not in raw and "scheduler" not in raw  # the Trainer's own (the recipe's lr)
    if stage == 3:  # whole 16-bit weights gathered into student/ when saving
        assert raw["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


def test_a_mixed_precision_in_the_yaml_is_refused_beside_a_deepspeed_json(tmp_path, monkeypatch):
    """What the check above would catch: accelerate refuses a setting made in both files."""
    monkeypatch.chdir(ROOT)
    text = (ROOT / "configs" / "accelerate" / "deepspeed-zero2.yaml").read_text() + "mixed_precision: bf16\n"
    bad = tmp_path / "zero2-bf16.yaml"
    bad.write_text(text)
    env, _ = _launch_env(bad)
    with mock.patch.dict(os.environ, env), pytest.raises(ValueError, match="mixed_precision"):
        DeepSpeedPlugin()


def test_there_are_configs():
    assert {p.name for p in CONFIGS} >= {"ddp-cpu.yaml", "ddp-gpu.yaml", "fsdp.yaml", "deepspeed-zero2.yaml",
                                         "deepspeed-zero3.yaml"}


def test_an_fsdp_launch_on_cpu_says_it_is_not_sharded(monkeypatch, caplog):
    """accelerate 1.15 applies FSDP on GPUs only: on CPU fsdp.yaml's ranks form a DDP group (MULTI_CPU;
    measured: same losses as ddp-cpu.yaml), and the trainer says so."""
    from types import SimpleNamespace

    import torch
    from accelerate.utils import DistributedType

    from rdistill.training.distributed import warn_if_fsdp_ignored

    cpu = SimpleNamespace(distributed_type=DistributedType.MULTI_CPU, device=torch.device("cpu"))
    assert not warn_if_fsdp_ignored(cpu)  # no FSDP config: nothing to say
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    with caplog.at_level("WARNING", logger="rdistill"):
        assert warn_if_fsdp_ignored(cpu)
    assert "MULTI_CPU" in caplog.text and "not sharded" in caplog.text
    sharded = SimpleNamespace(distributed_type=DistributedType.FSDP, device=torch.device("cpu"))
    assert not warn_if_fsdp_ignored(sharded)
