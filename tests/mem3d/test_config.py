import pytest

from mem3d.config import config_from_dict, config_to_dict, load_yaml_config
from mem3d.errors import InvalidInputError
from mem3d.integrate.carving import CarveConfig
from mem3d.voxel_map import MapConfig


def test_round_trip_through_plain_dicts():
    config = MapConfig(feature_dim=384, voxel_size=0.1, max_voxels=1000, carve=CarveConfig(max_depth=3.0))
    assert config_from_dict(MapConfig, config_to_dict(config)) == config


def test_nested_values_and_int_to_float(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("feature_dim: 384\nvoxel_size: 1\ncarve:\n  max_depth: 5\n")
    config = load_yaml_config(MapConfig, path)
    assert config.voxel_size == 1.0 and isinstance(config.voxel_size, float)
    assert config.carve == CarveConfig(max_depth=5.0)


@pytest.mark.parametrize("data, message", [
    ({"voxel_sise": 0.05}, "unknown key"),
    ({"feature_dim": "512"}, "feature_dim must be int"),
    ({"carve": {"margin": "wide"}}, "carve.margin"),
    ({"carve": 3}, "must be a mapping"),
    ({"max_voxels": 1.5}, "max_voxels"),
    ({"voxel_size": -1.0}, "voxel_size must be a positive"),
    ({"feature_dim": True}, "feature_dim"),
])
def test_mistakes_are_named(data, message):
    with pytest.raises(InvalidInputError, match=message):
        config_from_dict(MapConfig, data)


def test_unreadable_yaml_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_yaml_config(MapConfig, tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("feature_dim: [1,\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_yaml_config(MapConfig, bad)
