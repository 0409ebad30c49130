import pytest

from rdistill.errors import ConfigError
from rdistill.methods.latent.layers import layer_pairs, parse_layers, relative_depth_map


def test_parse_layer_specs():
    assert parse_layers("last:2", 30) == [29, 30]
    assert parse_layers("3-5", 30) == [3, 4, 5]
    assert parse_layers([5, 1, 5], 30) == [1, 5]
    with pytest.raises(ConfigError, match=r"\[31\] outside 0..30"):
        parse_layers([2, 31], 30)
    with pytest.raises(ConfigError, match="k must be in 1..30"):
        parse_layers("last:31", 30)


def test_relative_depth_map():
    # 28 * 15/30 = 14; 29 * 0.5 = 14.5 -> 14 (round half to even); 30 -> 15; 1 -> 0.5 -> at least 1
    assert relative_depth_map([1, 28, 29, 30], 30, 15) == [(1, 1), (28, 14), (29, 14), (30, 15)]
    assert relative_depth_map([0], 30, 15) == [(0, 0)]


def test_layer_pairs_explicit_and_errors():
    assert layer_pairs([(30, 15), (20, 10)], [20, 30], 30, 15) == [(30, 15), (20, 10)]
    with pytest.raises(ConfigError, match=r"teacher layer 10 is not in the cache \(stored: \[20, 30\]\)"):
        layer_pairs([(10, 5)], [20, 30], 30, 15)
    with pytest.raises(ConfigError, match="student layer 16 is outside 0..15"):
        layer_pairs([(30, 16)], [30], 30, 15)
    assert layer_pairs("relative_depth", [29, 30], 30, 15) == [(29, 14), (30, 15)]
