"""``mem3d perceive bench`` prints one JSON object with the figures the issue asks for."""

from __future__ import annotations

import json

from mem3d.cli import main

STAGES = {"validate", "encode", "sample", "unproject", "carve_depth", "total"}


def test_bench_prints_one_json_object_with_both_paths(capsys, tiny_clip_checkpoint):
    # the tiny architecture registered by the fixture stands in for ViT-B-32 to keep this fast
    code = main(["perceive", "bench", "--json", "--frames", "3", "--clip-frames", "2", "--views", "2",
                 "--clip-arch", "mem3d-test-tiny-vit", "--input-long-side", "128"])
    out = capsys.readouterr().out
    assert code == 0 and out.count("\n") == 1
    result = json.loads(out)
    assert result["image_size"] == [640, 480] and result["samples_per_frame"] == 20_000
    label, clip = result["label"], result["open_clip"]
    assert label["frames_per_s"] > 0 and clip["frames_per_s"] > 0
    assert set(label["ms_per_frame"]) == STAGES == set(clip["ms_per_frame"])
    assert label["points_per_frame"] == 20_000
    assert clip["architecture"] == "mem3d-test-tiny-vit" and clip["input_size"] == [128, 96]
    assert clip["model"] == "open-clip/mem3d-test-tiny-vit/random-init"


def test_perceive_without_an_action_explains_the_choices(capsys):
    assert main(["perceive"]) == 2
    assert "bench" in capsys.readouterr().err
