import numpy as np
import pytest
import torch

from s2label.encoders.cnn import CNNConfig, UNet, _cosine, pool_segments, torch_threads, train_cnn
from s2label.errors import SceneError, SceneTooSmallError
from s2label.evaluation.measures import rotate_scene
from s2label.segmentation.superpixels import Segmentation


def test_unet_shapes_and_receptive_field():
    torch.manual_seed(1)   # the weights: a test of the shapes, not of one draw
    net = UNet(in_channels=5, out_channels=7, width=8).eval()
    x = torch.zeros(1, 5, 64, 64)
    feats, recon = net(x)
    assert feats.shape == (1, 7, 64, 64) and recon.shape == (1, 5, 64, 64)
    # a change at one pixel reaches about 17 px away, not the far corner
    y = x.clone()
    y[0, :, 32, 32] = 5.0
    diff = (net.features(y) - net.features(x)).abs().sum(dim=1)[0]
    assert diff[32, 32 + 12] > 0 and diff[0, 0] == 0


def test_training_lowers_the_loss_and_is_seeded(real_crop, tiny_cnn):
    a = train_cnn(real_crop, config=tiny_cnn, seed=1)
    assert np.mean(a.losses[-5:]) < 0.8 * np.mean(a.losses[:5])
    b = train_cnn(real_crop, config=tiny_cnn, seed=1)
    c = train_cnn(real_crop, config=tiny_cnn, seed=2)
    for (name, pa), pb in zip(a.net.state_dict().items(), b.net.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.net.state_dict().values(), c.net.state_dict().values(),
                                                         strict=True))
    np.testing.assert_array_equal(a.feature_map(real_crop), b.feature_map(real_crop))


@pytest.mark.parametrize("steps", [1, 2, 3, 5, 10])
def test_few_training_steps(real_crop, tiny_cnn, steps):
    # OneCycleLR divides by its warm-up length, which rounded to zero steps below 20 steps (a notebook found it)
    from dataclasses import replace

    enc = train_cnn(real_crop, config=replace(tiny_cnn, steps=steps), seed=0)
    assert len(enc.losses) == steps and np.isfinite(enc.losses).all()


def test_tiled_inference_leaves_no_seams(real_crop, tiny_cnn):
    enc = train_cnn(real_crop, config=tiny_cnn, seed=0)
    tiled = enc.feature_map(real_crop)  # 64 px tiles with 32 px margins over 256 x 256
    whole = type(enc)(enc.net, enc.bands, enc.mean, enc.std,
                      CNNConfig(**{**tiny_cnn.__dict__, "inference_tile": 512, "margin": 32})).feature_map(real_crop)
    # 32 px margins cover the ~23 px receptive radius: tiles agree with one pass to float precision, tile edges included
    np.testing.assert_allclose(tiled, whole, atol=1e-4)


def test_balanced_tiles_run_fewer_pixels_and_agree(real_crop, tiny_cnn, scene_factory):
    enc = train_cnn(real_crop, config=tiny_cnn, seed=0)   # 64 px tiles, 32 px margins
    part = scene_factory(real_crop.data[:, :200, :136], bands=real_crop.bands)
    seen: list[tuple[int, ...]] = []
    features = enc.net.features

    def counting(x):
        seen.append(tuple(x.shape[2:]))
        return features(x)

    enc.net.features = counting
    square = enc.feature_map(part)
    square_tiles, seen[:] = list(seen), []
    balanced = enc.feature_map(part, balanced=True)
    # 4 x 3 tiles either way: 64 x 64 px (padded to 256 x 192) against 52 x 48 px (208 x 144)
    assert square_tiles == [(128, 128)] * 12 and seen == [(116, 112)] * 12
    np.testing.assert_allclose(balanced, square, atol=1e-4)


def test_features_turn_with_the_scene(real_crop):
    """Rotation-consistent training: features of the rotated scene, turned back, match the originals."""
    enc = train_cnn(real_crop, config=CNNConfig(steps=80, tile=32, features=8, width=8, batch_size=4), seed=0)
    f = enc.feature_map(real_crop)
    back = np.rot90(enc.feature_map(rotate_scene(real_crop, 1)), -1, axes=(1, 2))
    cos = (f * back).sum(0) / (np.linalg.norm(f, axis=0) * np.linalg.norm(back, axis=0) + 1e-9)
    assert np.median(cos) > 0.98


def test_scene_smaller_than_a_training_tile(scene_factory):
    rng = np.random.default_rng(0)
    small = scene_factory(rng.random((4, 40, 36)))
    enc = train_cnn(small, config=CNNConfig(steps=2, tile=64, features=4, width=4, batch_size=2))
    assert enc.feature_map(small).shape == (4, 40, 36)  # tiles shrink to the scene
    with pytest.raises(SceneTooSmallError, match="smallest training tile"):
        train_cnn(scene_factory(rng.random((4, 12, 40))), config=CNNConfig(steps=1))


def test_nan_inside_the_valid_mask_is_refused(scene_factory):
    data = np.random.default_rng(0).random((4, 40, 40)).astype(np.float32)
    data[2, 5, 5] = np.nan
    with pytest.raises(SceneError, match="NaN"):
        train_cnn(scene_factory(data), config=CNNConfig(steps=1, tile=32))


def test_nan_outside_the_valid_mask_is_ignored(scene_factory, tiny_cnn):
    data = np.random.default_rng(0).random((4, 40, 40)).astype(np.float32)
    valid = np.ones((40, 40), bool)
    data[:, :3] = np.nan
    valid[:3] = False
    enc = train_cnn(scene_factory(data, valid=valid), config=tiny_cnn)
    assert np.isfinite(enc.feature_map(scene_factory(data, valid=valid))).all()


def test_pool_segments_masked_mean_and_std():
    fmap = np.arange(2 * 2 * 3, dtype=np.float32).reshape(2, 2, 3)  # F=2, H=2, W=3
    labels = np.array([[1, 1, 0], [2, 2, 2]])
    from affine import Affine
    from rasterio.crs import CRS

    seg = Segmentation(labels, Affine.identity(), CRS.from_epsg(3857))
    mean = pool_segments(fmap, seg)
    np.testing.assert_allclose(mean, [[0.5, 6.5], [4.0, 10.0]])
    both = pool_segments(fmap, seg, std=True)
    np.testing.assert_allclose(both[:, 2:], [[0.5, 0.5], [np.std([3, 4, 5])] * 2], rtol=1e-6)


def test_num_threads_is_scoped():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_training_steps_scale_with_the_scene():
    """Enough steps to sample the scene's valid pixels ``passes`` times, between min_steps and steps."""
    cfg = CNNConfig()  # 8 tiles of 64 px a step, 12 passes: 300 steps for 819,200 px or more
    assert cfg.training_steps(819_200) == 300 and cfg.training_steps(10_000_000) == 300
    assert cfg.training_steps(600_000) == 220  # ceil(12 * 600000 / 32768)
    assert cfg.training_steps(262_144) == 100 and cfg.training_steps(1_000) == 100  # min_steps
    assert cfg.training_steps(262_144, tile=32) == 300  # smaller tiles (a tiny scene): more steps for the passes
    assert CNNConfig(passes=None).training_steps(1_000) == 300
    assert CNNConfig(steps=40).training_steps(10_000_000) == 40 == CNNConfig(steps=40).training_steps(10)
    assert CNNConfig(passes=24.0).training_steps(262_144) == 192


@pytest.mark.parametrize("bad", [dict(passes=0.0), dict(passes=-1.0), dict(min_steps=0), dict(steps=0)])
def test_bad_training_steps_are_refused(bad):
    from s2label.errors import S2LabelError

    with pytest.raises(S2LabelError, match="CNNConfig"):
        CNNConfig(**bad)


def test_a_small_real_scene_trains_the_scaled_steps(real_crop):
    from tests.conftest import TINY_CNN

    scene = real_crop.select(["B02", "B03", "B04", "B08"])
    assert scene.valid.all() and scene.shape == (256, 256)
    encoder = train_cnn(scene, config=CNNConfig(**{**TINY_CNN, "steps": 300, "min_steps": 10}), seed=0)
    assert len(encoder.losses) == 192  # 12 passes over 65,536 px in 4 tiles of 32 x 32 px a step
    exact = train_cnn(scene, config=CNNConfig(**{**TINY_CNN, "steps": 30, "passes": None}), seed=0)
    assert len(exact.losses) == 30


def test_bfloat16_training_keeps_float32_weights(real_crop):
    from tests.conftest import TINY_CNN

    scene = real_crop.select(["B02", "B03", "B04", "B08"])
    base = {**TINY_CNN, "steps": 15}
    bf16 = train_cnn(scene, config=CNNConfig(**base, precision="bfloat16"), seed=0)
    fp32 = train_cnn(scene, config=CNNConfig(**base), seed=0)
    assert all(p.dtype == torch.float32 for p in bf16.net.parameters())
    assert np.isfinite(bf16.losses).all() and bf16.losses[-1] < bf16.losses[0]
    assert bf16.losses != fp32.losses  # autocast was on: the arithmetic differs
    assert bf16.feature_map(scene).dtype == np.float32


def test_a_precision_other_than_the_two_is_refused():
    from s2label.errors import S2LabelError

    with pytest.raises(S2LabelError, match="precision must be 'float32' or 'bfloat16'"):
        CNNConfig(precision="float16")


def test_a_device_that_is_not_there_is_one_clear_error():
    from s2label.encoders.cnn import resolve_device
    from s2label.errors import S2LabelError

    with pytest.raises(S2LabelError, match="unknown torch device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(S2LabelError, match="torch sees no CUDA device here"):
            resolve_device("cuda")
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(None).type in ("cpu", "cuda")


def test_the_training_cosine_is_torchs_cosine_similarity_with_its_gradient():
    # the rotation-consistency term's cosine, written out for speed: the same values and gradients as torch's,
    # zero vectors (masked-out or dead features) included
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(3, 6, 5, 5, generator=gen)
    b = torch.randn(3, 6, 5, 5, generator=gen)
    a[0, :, 0, 0] = 0.0
    a[1] *= 1e-3                                     # short vectors: the norms, not a floor, set the scale
    grads = []
    for cosine in (_cosine, lambda x, y: torch.nn.functional.cosine_similarity(x, y, dim=1, eps=1e-6)[:, None]):
        x, y = a.clone().requires_grad_(), b.clone().requires_grad_()
        value = cosine(x, y)
        assert value.shape == (3, 1, 5, 5)
        (value * torch.arange(75.0).reshape(3, 1, 5, 5)).sum().backward()
        grads.append((value.detach(), x.grad, y.grad))
    for ours, theirs in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
