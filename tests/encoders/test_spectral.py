import numpy as np
import pytest

from s2label.encoders.spectral import segment_means, spectral_features
from s2label.errors import SegmentationError
from s2label.segmentation.superpixels import Segmentation


def test_spectral_features_of_known_segments(scene_factory):
    data = np.zeros((4, 2, 4), np.float32)  # B02 B03 B04 B08
    data[:, :, :2] = np.array([0.1, 0.2, 0.1, 0.5])[:, None, None]  # segment 1: vegetation
    data[:, :, 2:] = np.array([0.1, 0.2, 0.1, 0.05])[:, None, None]  # segment 2: water
    data[3, 0, 0] = 0.7  # one brighter NIR pixel in segment 1
    scene = scene_factory(data, ("B02", "B03", "B04", "B08"))
    seg = Segmentation(np.array([[1, 1, 2, 2], [1, 1, 2, 2]]), scene.transform, scene.crs)
    emb = spectral_features(scene, seg)
    names = emb.feature_names
    assert names == ("mean_B02", "mean_B03", "mean_B04", "mean_B08", "std_B02", "std_B03", "std_B04", "std_B08",
                     "NDVI", "NDWI")
    v = emb.vectors
    assert v[0, names.index("mean_B08")] == pytest.approx(0.55)
    assert v[0, names.index("std_B08")] == pytest.approx(np.std([0.7, 0.5, 0.5, 0.5]), abs=1e-6)
    assert v[1, names.index("std_B02")] == pytest.approx(0, abs=1e-6)
    ndvi_1 = np.mean([(0.7 - 0.1) / 0.8, 0.4 / 0.6, 0.4 / 0.6, 0.4 / 0.6])
    assert v[0, names.index("NDVI")] == pytest.approx(ndvi_1, abs=1e-6)
    assert v[1, names.index("NDWI")] == pytest.approx((0.2 - 0.05) / 0.25, abs=1e-6)
    assert emb.encoder == "spectral" and emb.segment_ids.tolist() == [1, 2]


def test_indices_left_out_without_their_bands(scene_factory):
    scene = scene_factory(np.random.default_rng(0).random((3, 4, 4)), ("B02", "B11", "B12"))
    seg = Segmentation(np.ones((4, 4), int), scene.transform, scene.crs)
    emb = spectral_features(scene, seg)
    assert "NDVI" not in emb.feature_names and emb.dim == 6


def test_features_on_real_crop_separate_water_from_land(real_crop):
    from s2label.segmentation.superpixels import segment

    seg = segment(real_crop, segment_size=200)
    emb = spectral_features(real_crop, seg)
    assert emb.vectors.shape == (seg.n_segments, 13 * 2 + 2) and np.isfinite(emb.vectors).all()
    ndvi = emb.vectors[:, emb.feature_names.index("NDVI")]
    ndwi = emb.vectors[:, emb.feature_names.index("NDWI")]
    assert (ndvi > 0.5).any() and (ndwi > 0.1).any()  # the crop holds both
    assert np.corrcoef(ndvi, ndwi)[0, 1] < -0.8


def test_grid_mismatch_is_refused(real_crop):
    seg = Segmentation(np.ones((10, 10), int), real_crop.transform, real_crop.crs)
    with pytest.raises(SegmentationError, match="not on the scene's grid"):
        spectral_features(real_crop, seg)


def test_segment_means_ignores_label_zero():
    vals = np.arange(6, dtype=float).reshape(2, 3)
    labels = np.array([[0, 1, 1], [2, 2, 0]])
    np.testing.assert_allclose(segment_means(vals, labels, 2), [1.5, 3.5])
