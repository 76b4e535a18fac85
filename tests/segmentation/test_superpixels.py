import numpy as np
import pytest

from s2label.errors import SceneTooSmallError, SegmentationError
from s2label.segmentation.superpixels import Segmentation, segment, standardise


@pytest.mark.parametrize("method", ["slic", "felzenszwalb"])
def test_four_quadrants_give_four_segments(quadrant_scene, method):
    seg = segment(quadrant_scene, method=method, n_segments=4, compactness=0.01, segment_size=900)
    assert seg.n_segments == 4
    labels = seg.ids
    # each quadrant is exactly one segment
    for rs, cs in [(slice(0, 30), slice(0, 30)), (slice(0, 30), slice(30, 60)),
                   (slice(30, 60), slice(0, 30)), (slice(30, 60), slice(30, 60))]:
        assert np.unique(labels[rs, cs]).size == 1
    assert sorted(np.unique(labels).tolist()) == [1, 2, 3, 4]


def test_ids_are_consecutive_and_connected(real_crop):
    seg = segment(real_crop, segment_size=150)
    ids = np.unique(seg.ids)
    assert ids[0] == 1 and ids[-1] == seg.n_segments and ids.size == seg.n_segments
    from skimage.measure import label

    # no segment is made of two pieces
    assert label(seg.ids, background=0, connectivity=1).max() == seg.n_segments
    assert seg.ids.dtype == np.int32 and seg.transform == real_crop.transform


def test_segment_size_is_respected_on_real_data(real_crop):
    for size in (100, 400):
        seg = segment(real_crop, segment_size=size)
        assert 0.6 * size < seg.areas().mean() < 1.5 * size
    assert segment(real_crop, n_segments=50).n_segments == pytest.approx(50, rel=0.4)


def test_segments_never_cross_the_mask(real_crop, scene_factory):
    valid = real_crop.valid.copy()
    valid[:, 120:123] = False  # a no-data stripe
    valid[30:60, 30:60] = False  # a no-data hole
    scene = scene_factory(real_crop.data, real_crop.bands, valid)
    seg = segment(scene, segment_size=150)
    assert (seg.ids[~valid] == 0).all() and (seg.ids[valid] > 0).all()
    left, right = np.unique(seg.ids[:, :120]), np.unique(seg.ids[:, 123:])
    assert np.intersect1d(left[left > 0], right[right > 0]).size == 0


def test_extra_mask_argument(quadrant_scene):
    mask = np.ones(quadrant_scene.shape, bool)
    mask[:5] = False
    seg = segment(quadrant_scene, n_segments=4, compactness=0.01, mask=mask)
    assert (seg.ids[:5] == 0).all()
    with pytest.raises(SegmentationError, match="mask shape"):
        segment(quadrant_scene, mask=np.ones((3, 3), bool))


def test_band_choice_changes_the_segmentation(real_crop):
    a = segment(real_crop, segment_size=200, bands=["B02", "B03", "B04"])
    b = segment(real_crop, segment_size=200, bands=["B08", "B11", "B12"])
    assert a.params["bands"] == ["B02", "B03", "B04"]
    assert not np.array_equal(a.ids, b.ids)


def test_scene_smaller_than_a_few_segments(scene_factory):
    from scipy.ndimage import gaussian_filter

    smooth = gaussian_filter(np.random.default_rng(0).random((3, 20, 20)), sigma=(0, 3, 3))
    tiny = scene_factory(smooth)
    with pytest.raises(SceneTooSmallError, match="at least 4"):
        segment(tiny, segment_size=200)
    assert segment(tiny, segment_size=50).n_segments >= 4


def test_unknown_method(quadrant_scene):
    with pytest.raises(SegmentationError, match="unknown segmentation method"):
        segment(quadrant_scene, method="watershed", segment_size=100)


def test_standardize_zero_mean_unit_variance(real_crop):
    z = standardise(real_crop)
    v = z[:, real_crop.valid]
    np.testing.assert_allclose(v.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(v.std(axis=1), 1, atol=1e-3)


def test_segmentation_validates_its_input():
    from affine import Affine
    from rasterio.crs import CRS

    with pytest.raises(SegmentationError, match=">= 0"):
        Segmentation(np.array([[-1, 1]]), Affine.identity(), CRS.from_epsg(3857))
    seg = Segmentation(np.array([[1, 2]]), Affine.identity(), CRS.from_epsg(3857))
    with pytest.raises(SegmentationError, match="3 values for 2 segments"):
        seg.to_raster(np.array([1, 2, 3]))


def test_seed_step_puts_slic_seeds_on_a_regular_grid(scene_factory):
    """On a featureless scene a 14 px grid of seeds gives one segment around each seed, 7 + 14 k px."""
    scene = scene_factory(np.ones((4, 56, 70), np.float32))
    seg = segment(scene, n_segments=4, seed_step=14, compactness=1.0)
    assert seg.n_segments == 20 and seg.params["seed_step"] == 14
    at_seeds = seg.ids[7::14, 7::14]
    assert at_seeds.shape == (4, 5) and np.unique(at_seeds).size == 20
    assert 169 <= seg.areas().min() and seg.areas().max() <= 225        # 13 to 15 px squares


def test_shared_statistics_standardise_like_the_scene_they_come_from(real_crop):
    from s2label.segmentation.superpixels import band_stats

    part = real_crop.select(real_crop.bands)
    own = standardise(part)
    np.testing.assert_allclose(standardise(part, stats=band_stats(part)), own, atol=1e-6)
    shifted = standardise(part, stats=(band_stats(part)[0] + 0.01, band_stats(part)[1]))
    assert not np.allclose(shifted[:, part.valid], own[:, part.valid])
    with pytest.raises(SegmentationError, match="stats for 2 bands"):
        standardise(part, stats=(np.zeros(2), np.ones(2)))
