"""bench/peers.py at equal wall time trains every peer at a constant learning rate: its step
horizon is a placeholder (10**6), so a warm-up ratio of it would keep the rate near zero."""

from __future__ import annotations

from .conftest import load_bench


def test_equal_wall_trains_at_a_constant_rate_and_fixed_steps_keep_the_recipe(toy_recipe):
    peers = load_bench("peers")
    base = ["--output", "x.json", "--recipe", str(toy_recipe), "--train-rows", "30"]
    timed = peers.recipe(peers.parse_args([*base, "--equal-wall", "60", "--dev-rows", "6"])).training
    assert timed.max_steps == 10**6 and timed.warmup_ratio == 0
    assert timed.lr_scheduler == "constant_with_warmup"
    fixed = peers.recipe(peers.parse_args([*base, "--steps", "3"])).training
    assert fixed.max_steps == 4 and fixed.lr_scheduler == "linear"  # the recipe's schedule
