"""The registry: names, options, lazy imports, and config validation."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mem3d.encoder import available_encoders, create_encoder, parse_encoder_options
from mem3d.errors import InvalidInputError
from perception import FrameConfig, OpenClipConfig


def test_known_encoders_are_listed():
    assert available_encoders() == ("label-minilm", "open-clip")


def test_unknown_encoder_name_lists_the_known_ones():
    with pytest.raises(InvalidInputError, match="unknown encoder 'clip-xl'.*label-minilm, open-clip"):
        create_encoder("clip-xl")


def test_unknown_option_names_the_valid_options():
    with pytest.raises(InvalidInputError, match="no option.*'archh'.*valid options.*'arch'"):
        create_encoder("open-clip", archh="ViT-B-32")


def test_importing_perception_does_not_import_torch():
    code = ("import sys, perception, perception.cli, perception.encoders, bench.cli, bench.perception_bench; "
            "heavy = [m for m in ('torch', 'open_clip', 'sentence_transformers') if m in sys.modules]; "
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("options", [
    {"n_samples": 0}, {"min_depth": 2.0, "max_depth": 1.0}, {"min_depth": 0.0},
    {"max_depth": float("nan")}, {"edge_threshold": 0.0}, {"carve_downsample": 0},
    {"feature_dtype": "int8"},
])
def test_frame_config_rejects_bad_values(options):
    with pytest.raises(InvalidInputError):
        FrameConfig(**options)


def test_open_clip_config_needs_weights_unless_random_is_asked_for():
    with pytest.raises(InvalidInputError, match="needs weights"):
        OpenClipConfig(pretrained=None)
    assert OpenClipConfig(pretrained=None, random_weights=True).pretrained is None
    with pytest.raises(InvalidInputError, match="text_templates"):
        OpenClipConfig(text_templates=("a photo",))


def test_label_encoder_without_a_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="no safetensors model with a tokenizer.json .*sentence-transformers"):
        create_encoder("label-minilm", model_path=str(tmp_path))
    with pytest.raises(InvalidInputError, match="no sentence-transformers model at .*modules.json missing"):
        create_encoder("label-minilm", model_path=str(tmp_path), backend="sentence-transformers")


def test_open_clip_config_rejects_an_unknown_precision():
    with pytest.raises(InvalidInputError, match=r"precision must be one of \('fp32'.*got 'fp8'"):
        OpenClipConfig(precision="fp8")


def test_command_line_options_are_typed_by_the_encoders_config():
    options = parse_encoder_options("open-clip", [
        "arch=ViT-B-16", "pretrained=/models/b16.bin", "batch_size=8", "match_threshold=0.3", "random-weights=true",
        "num_threads=none", 'text_templates=["a photo of a {}.", "a {} in a room."]', "device=cuda:1"])
    assert options == {"arch": "ViT-B-16", "pretrained": "/models/b16.bin", "batch_size": 8, "match_threshold": 0.3,
                       "random_weights": True, "num_threads": None, "device": "cuda:1",
                       "text_templates": ("a photo of a {}.", "a {} in a room.")}
    assert parse_encoder_options("open-clip", ["text_templates=a {}."]) == {"text_templates": ("a {}.",)}
    assert parse_encoder_options("label-minilm", ["match_threshold=none"]) == {"match_threshold": None}
    assert parse_encoder_options("label-minilm", None) == {}


@pytest.mark.parametrize("items, message", [
    (["batch_size"], "is not KEY=VALUE"), (["batch_size=eight"], "batch_size='eight': not a valid int"),
    (["random_weights=maybe"], "not a valid bool"), (["=3"], "is not KEY=VALUE"),
])
def test_bad_command_line_options_are_clear_errors(items, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_encoder_options("open-clip", items)
    with pytest.raises(InvalidInputError, match="unknown encoder 'clip-xl'"):
        parse_encoder_options("clip-xl", [])
    with pytest.raises(InvalidInputError, match="no option.*'archh'"):  # named when the encoder is created
        create_encoder("open-clip", **parse_encoder_options("open-clip", ["archh=ViT-B-32"]))
