"""Every file in configs/accelerate/ loads with accelerate's own config class, as ``accelerate
launch --config_file`` reads it (unknown or misspelt keys fail there)."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs" / "accelerate").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_accelerate_config_loads(path):
    config = load_config_from_file(str(path))
    assert isinstance(config, ClusterConfig)
    assert config.distributed_type.value == "MULTI_GPU" and config.num_processes >= 2
    assert not config.use_cpu  # --cpu would select accelerate's one-process launcher


def test_there_are_configs():
    assert {p.name for p in CONFIGS} >= {"ddp-cpu.yaml", "ddp-gpu.yaml"}
