"""OpenClipEncoder end to end on a tiny open_clip model loaded from a checkpoint file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mem3d.encoder import create_encoder
from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.types import CameraIntrinsics, Observation
from perception.config import OpenClipConfig
from perception.encoders.maskclip import positional_embedding, trunk_tokens, value_readout
from perception.encoders.open_clip_encoder import OpenClipEncoder

TINY_ARCH = "mem3d-test-tiny-vit"  # registered with open_clip by the tiny_clip_checkpoint fixture


def camera_observation(seed: int, width: int = 640, height: int = 480) -> Observation:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Observation(rgb=rgb, depth=np.full((height, width), 2.0, np.float32),
                       intrinsics=CameraIntrinsics.from_fov(width, height, 70.0), T_world_camera=np.eye(4),
                       stamp=float(seed), obs_id=seed)


@pytest.fixture(scope="module")
def observations() -> list[Observation]:
    return [camera_observation(seed) for seed in range(3)]


def test_loads_the_checkpoint_file_and_names_it(tiny_clip_encoder, tiny_clip_checkpoint):
    info = tiny_clip_encoder.info
    assert info.feature_dim == 32 == tiny_clip_encoder.feature_dim
    assert info.model_id == f"open-clip/{TINY_ARCH}/file:{tiny_clip_checkpoint.name}"
    state = torch.load(tiny_clip_checkpoint, weights_only=True)
    for name, value in tiny_clip_encoder.model.state_dict().items():
        assert torch.equal(value, state[name]), name


def test_dense_features_shape_and_normalisation(tiny_clip_encoder, observations):
    dense = tiny_clip_encoder.encode_dense(observations[0])
    dense.validate(480, 640)
    assert tiny_clip_encoder.input_size(480, 640) == (96, 128)  # long side 128 px, 16 px patches
    assert dense.palette.shape == (6 * 2 * 8 * 2, 32)            # 6 x 8 patches, upsampled 2x
    assert np.allclose(np.linalg.norm(dense.palette, axis=1), 1.0, atol=1e-5)
    assert dense.index_map.min() == 0 and dense.index_map.max() == 191
    assert np.unique(dense.index_map).size == 192
    assert dense.index_map[0, 0] == 0 and dense.index_map[479, 639] == 191
    assert dense.index_map[0, 639] == 15 and dense.index_map[479, 0] == 176


def test_dense_features_are_deterministic_and_batching_changes_nothing(tiny_clip_encoder, observations):
    singles = [tiny_clip_encoder.encode_dense(obs) for obs in observations]
    again = tiny_clip_encoder.encode_dense(observations[0])
    assert np.array_equal(singles[0].palette, again.palette)
    batched = tiny_clip_encoder.encode_dense_batch(observations)  # batch_size 2: a batch of 2, then 1
    for one, many in zip(singles, batched):
        assert np.allclose(one.palette, many.palette, atol=1e-5)
        assert np.array_equal(one.index_map, many.index_map)
    assert not np.allclose(singles[0].palette, singles[1].palette)


def test_mixed_image_sizes_are_encoded_at_their_own_size(tiny_clip_encoder):
    small = camera_observation(5, 320, 240)
    dense = tiny_clip_encoder.encode_dense_batch([camera_observation(4), small])
    assert dense[1].index_map.shape == (240, 320) and dense[0].index_map.shape == (480, 640)


def test_text_and_image_features_share_the_dimension(tiny_clip_encoder, observations):
    text = tiny_clip_encoder.encode_text(["a red mug", "sofa", "chair"])
    assert text.shape == (3, 32) and text.dtype == np.float32
    assert np.allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(text, tiny_clip_encoder.encode_text(["a red mug", "sofa", "chair"]))
    image = tiny_clip_encoder.encode_image_global([obs.rgb for obs in observations[:2]])
    assert image.shape == (2, 32)
    assert np.allclose(np.linalg.norm(image, axis=1), 1.0, atol=1e-5)


def test_prompt_templates_are_averaged(tiny_clip_checkpoint):
    templates = ("a photo of a {}.", "a {} in a room.")
    encoder = OpenClipEncoder(OpenClipConfig(arch=TINY_ARCH, pretrained=str(tiny_clip_checkpoint),
                                             device="cpu", text_templates=templates))
    with torch.inference_mode():
        tokens = encoder.tokenizer([t.format("mug") for t in templates])
        each = torch.nn.functional.normalize(encoder.model.encode_text(tokens), dim=-1).numpy()
    mean = each.sum(axis=0) / np.linalg.norm(each.sum(axis=0))
    assert np.allclose(encoder.encode_text(["mug"])[0], mean, atol=1e-5)


def test_maskclip_trunk_matches_open_clip_intermediates(tiny_clip_encoder):
    visual = tiny_clip_encoder.model.visual
    pixels = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ours = trunk_tokens(visual, pixels)
        reference = visual.forward_intermediates(pixels, indices=[len(visual.transformer.resblocks) - 2],
                                                 output_fmt="NLC", output_extra_tokens=True)
    assert torch.allclose(ours[:, 1:], reference["image_intermediates"][0], atol=1e-5)
    assert torch.allclose(ours[:, :1], reference["image_intermediates_prefix"][0], atol=1e-5)
    assert positional_embedding(visual, tuple(visual.grid_size)) is visual.positional_embedding
    assert positional_embedding(visual, (6, 8)).shape == (1 + 48, 64)


def test_value_readout_equals_attention_that_attends_only_to_itself(tiny_clip_encoder):
    block = tiny_clip_encoder.model.visual.transformer.resblocks[-1]
    x = torch.randn(2, 17, 64, generator=torch.Generator().manual_seed(1))
    self_only = torch.full((17, 17), float("-inf")).fill_diagonal_(0.0)
    with torch.inference_mode():
        normed = block.ln_1(x)
        reference = block.ls_1(block.attn(normed, normed, normed, attn_mask=self_only, need_weights=False)[0])
        assert torch.allclose(value_readout(block, x), reference, atol=1e-5)
        assert torch.allclose(value_readout(block, x, residual=True), x + reference, atol=1e-5)


def test_an_independent_load_gives_the_same_features_and_other_weights_differ(
        tiny_clip_checkpoint, tiny_clip_encoder, tiny_clip_writer, observations, tmp_path):
    reloaded = create_encoder("open-clip", arch=TINY_ARCH, pretrained=str(tiny_clip_checkpoint), device="cpu",
                              input_long_side=128)
    assert np.allclose(reloaded.encode_dense(observations[0]).palette,
                       tiny_clip_encoder.encode_dense(observations[0]).palette, atol=1e-6)
    other = create_encoder("open-clip", arch=TINY_ARCH, device="cpu", input_long_side=128,
                           pretrained=str(tiny_clip_writer(tmp_path, seed=1)))
    assert not np.allclose(other.encode_dense(observations[0]).palette,
                           tiny_clip_encoder.encode_dense(observations[0]).palette, atol=1e-3)


def test_missing_checkpoint_file_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="checkpoint file '/no/such/weights.pt' not found"):
        create_encoder("open-clip", arch=TINY_ARCH, pretrained="/no/such/weights.pt", device="cpu")


def test_checkpoint_of_another_architecture_is_a_clear_error(tmp_path, tiny_clip_checkpoint,
                                                            tiny_clip_writer, tiny_clip_config):
    wider = {**tiny_clip_config, "vision_cfg": {**tiny_clip_config["vision_cfg"], "width": 96}}
    tiny_clip_writer(tmp_path, arch="mem3d-test-wider-vit", config=wider)
    with pytest.raises(InvalidInputError, match="(?s)could not load checkpoint.*size mismatch"):
        create_encoder("open-clip", arch="mem3d-test-wider-vit", pretrained=str(tiny_clip_checkpoint),
                       device="cpu")
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    with pytest.raises(InvalidInputError, match="could not load checkpoint"):
        create_encoder("open-clip", arch=TINY_ARCH, pretrained=str(junk), device="cpu")


def test_unknown_architecture_and_bad_images_are_rejected(tiny_clip_encoder):
    with pytest.raises(InvalidInputError, match="unknown open_clip architecture 'ViT-B-33'.*ViT-B-32"):
        create_encoder("open-clip", arch="ViT-B-33")
    obs = camera_observation(0)
    obs.rgb = obs.rgb.astype(np.float32)
    with pytest.raises(InvalidInputError, match="rgb must have dtype uint8"):
        tiny_clip_encoder.encode_dense(obs)
    with pytest.raises(InvalidInputError, match=r"image 0 must have shape \(\*, \*, 3\)"):
        tiny_clip_encoder.encode_image_global([np.zeros((8, 8), np.uint8)])


def test_checkpoint_that_trips_an_open_clip_assertion_is_a_clear_error(tmp_path, tiny_clip_checkpoint,
                                                                        tiny_clip_writer, tiny_clip_config):
    # a wider text tower: open_clip's load_checkpoint asserts "text pos_embed width changed!"
    wider_text = {**tiny_clip_config, "text_cfg": {**tiny_clip_config["text_cfg"], "width": 64}}
    tiny_clip_writer(tmp_path, arch="mem3d-test-wide-text-vit", config=wider_text)
    with pytest.raises(InvalidInputError, match=r"could not load checkpoint '.*/mem3d-test-tiny-vit-seed0\.pt' "
                                                r"into mem3d-test-wide-text-vit: text pos_embed width changed"):
        create_encoder("open-clip", arch="mem3d-test-wide-text-vit", pretrained=str(tiny_clip_checkpoint),
                       device="cpu")


def test_a_directory_as_pretrained_and_no_images_are_clear_errors(tmp_path, tiny_clip_encoder):
    with pytest.raises(InvalidInputError, match="is a directory: give the checkpoint file in it"):
        create_encoder("open-clip", arch=TINY_ARCH, pretrained=str(tmp_path), device="cpu")
    with pytest.raises(InvalidInputError, match="encode_image_global needs at least one image"):
        tiny_clip_encoder.encode_image_global([])


def test_auto_device_is_the_gpu_when_cuda_works_else_the_cpu(monkeypatch):
    from perception.encoders.torch_device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def test_a_pretrained_tag_that_cannot_be_downloaded_is_not_available(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # fail at once, without the network, in this test only
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read when the hub was imported
    with pytest.raises(NotAvailableError, match="the ViT-B-32 weights 'laion2b_s34b_b79k' are not on this machine "
                                                "and huggingface.co cannot be reached: .* pass a checkpoint file"):
        create_encoder("open-clip", arch="ViT-B-32", pretrained="laion2b_s34b_b79k", device="cpu")
