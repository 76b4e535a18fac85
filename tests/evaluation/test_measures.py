import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from s2label.errors import ClusteringError, SceneError, SegmentationError
from s2label.evaluation.measures import (
    fragmentation,
    load_reference,
    named_cluster_accuracy,
    rotate_scene,
    rotation_stability,
    segment_to_pixels,
)
from s2label.segmentation.graph import build_graph
from s2label.segmentation.superpixels import Segmentation

# --- named-cluster accuracy ------------------------------------------------------------------------------

# class 1 in the left half, class 2 in the right; the prediction has one noise pixel at (0, 0) and one
# class-1 pixel at (3, 0) put in the class-2 cluster
REFERENCE = np.repeat([[1, 1, 2, 2]], 4, axis=0)
PRED = np.repeat([[0, 0, 1, 1]], 4, axis=0)
PRED[0, 0] = -1
PRED[3, 0] = 1
ASSIGNED = PRED.copy()
ASSIGNED[0, 0] = 0


def test_named_accuracy_counts_noise_wrong_then_assigned():
    acc = named_cluster_accuracy(PRED, REFERENCE, assigned=ASSIGNED)
    assert acc.accuracy_strict == 14 / 16
    assert acc.accuracy_assigned == 15 / 16
    assert dict(acc.names) == {0: 1, 1: 2}
    assert acc.n_clusters == 2 and acc.n_pixels == 16 and acc.noise_fraction == 1 / 16
    # ARI by hand: pair counts 21 + 28 = 49 within cells, 56 within classes, 21 + 36 = 57 within clusters, 120 pairs
    expected = 56 * 57 / 120
    assert acc.ari == pytest.approx((49 - expected) / ((56 + 57) / 2 - expected))
    assert 0.5 < acc.nmi < 1.0
    assert acc.to_dict()["names"] == {"0": 1, "1": 2}


def test_named_accuracy_without_assigned_leaves_noise_wrong():
    acc = named_cluster_accuracy(PRED, REFERENCE)
    assert acc.accuracy_assigned == acc.accuracy_strict == 14 / 16
    # noise is its own label in ARI: three predicted groups instead of two
    assert acc.ari < named_cluster_accuracy(PRED, REFERENCE, assigned=ASSIGNED).ari


def test_named_accuracy_skips_pixels_without_reference_or_prediction():
    ref = REFERENCE.copy()
    ref[0] = 0  # first row has no reference: the noise pixel is not evaluated
    pred = PRED.copy()
    pred[1, 3] = -2  # no data
    acc = named_cluster_accuracy(pred, ref)
    assert acc.n_pixels == 11 and acc.noise_fraction == 0.0
    assert acc.accuracy_strict == 10 / 11
    acc255 = named_cluster_accuracy(pred, np.where(ref == 0, 255, ref), reference_nodata=255)
    assert acc255.accuracy_strict == 10 / 11


def test_named_accuracy_names_by_majority_and_rewards_more_clusters():
    # one cluster over both classes: named by the majority (class 2 holds 10 px of 16)
    ref = np.array([[1] * 6 + [2] * 10])
    acc = named_cluster_accuracy(np.zeros((1, 16), int), ref)
    assert dict(acc.names) == {0: 2} and acc.accuracy_strict == 10 / 16 and acc.ari == 0.0
    # one cluster per pixel: every pixel right, but 16 clusters to name
    many = named_cluster_accuracy(np.arange(16).reshape(1, 16), ref)
    assert many.accuracy_strict == 1.0 and many.n_clusters == 16


def test_named_accuracy_rejects_bad_input():
    with pytest.raises(SegmentationError, match="shape"):
        named_cluster_accuracy(PRED, REFERENCE[:3])
    with pytest.raises(ClusteringError, match="integer"):
        named_cluster_accuracy(PRED.astype(float), REFERENCE)
    with pytest.raises(ClusteringError, match="noise"):
        named_cluster_accuracy(PRED, REFERENCE, assigned=PRED)
    with pytest.raises(ClusteringError, match="-3"):
        named_cluster_accuracy(PRED - 2, REFERENCE)
    with pytest.raises(ClusteringError, match="no pixel"):
        named_cluster_accuracy(np.full((4, 4), -2), REFERENCE)


def test_segment_to_pixels_is_label_raster_under_its_old_name():
    seg = Segmentation(np.array([[1, 1, 2], [0, 3, 3]]), Affine.identity(), CRS.from_epsg(32633))
    with pytest.warns(FutureWarning, match="segment_to_pixels is now s2label.segmentation.export.label_raster"):
        painted = segment_to_pixels(seg, np.array([5, -1, 0]))
    assert painted.tolist() == [[5, 5, -1], [-2, 0, 0]]
    with pytest.raises(SegmentationError), pytest.warns(FutureWarning):
        segment_to_pixels(seg, np.array([1, 2]))


# --- fragmentation ----------------------------------------------------------------------------------------

def test_fragmentation_on_a_four_node_graph():
    # 1 1 2 0 5
    # 3 4 2 0 0   -> pairs (0,1) (0,2) (0,3) (1,3) (2,3); node 4 is isolated
    g = build_graph(np.array([[1, 1, 2, 0, 5], [3, 4, 2, 0, 0]]))
    assert fragmentation(g, np.array([0, 0, 0, 0, 9])) == 0.0
    # node 1 (neighbours 0 and 3) differs from both; the isolated node counts nowhere
    assert fragmentation(g, np.array([0, 1, 0, 0, 9])) == 0.25
    # nodes 1 and 2 touch only nodes 0 and 3 (label 0), not each other: both are outliers
    assert fragmentation(g, np.array([0, 1, 1, 0, 9])) == 0.5
    assert fragmentation(g, np.array([0, 1, 2, 3, 9])) == 1.0
    with pytest.raises(SegmentationError):
        fragmentation(g, np.array([0, 1, 2, 3]))
    assert np.isnan(fragmentation(build_graph(np.array([[1, 0, 2]])), np.array([0, 0])))


# --- rotation ---------------------------------------------------------------------------------------------

def test_rotate_scene_rotates_pixels_and_keeps_a_north_up_grid(scene_factory):
    data = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    valid = np.ones((3, 5), bool)
    valid[0, 4] = False
    scene = scene_factory(data, valid=valid, res=20.0)
    rot = rotate_scene(scene, k=1)
    assert rot.shape == (5, 3) and rot.bands == scene.bands and rot.crs == scene.crs
    np.testing.assert_array_equal(rot.data, np.rot90(data, 1, axes=(1, 2)))
    assert not rot.valid[0, 0] and rot.valid.sum() == 14  # top-right corner went to the top-left
    assert rot.transform.a == 20.0 and rot.transform.e == -20.0 and rot.transform.b == rot.transform.d == 0
    assert rot.source == "synthetic[rot90x1]"
    back = rotate_scene(rotate_scene(rot, k=2), k=1)
    np.testing.assert_array_equal(back.data, data)
    np.testing.assert_array_equal(back.valid, valid)


def test_rotation_stability_of_known_and_scrambled_maps():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.repeat(rng.integers(-1, 5, (8, 10)), 6, axis=0), 6, axis=1)  # 48 x 60 blocks
    for k in (1, 2, 3):
        renamed = np.rot90((labels + 1) * 7, k)  # other label values, same partition
        assert rotation_stability(labels, renamed, k=k) == 1.0
    # no data in either map is left out, whatever label the other map has there
    rotated = np.rot90(labels, 1).copy()
    rotated[:5, :5] = -2
    assert rotation_stability(labels, rotated, k=1) == 1.0
    scrambled = np.rot90(rng.permutation(labels.ravel()).reshape(labels.shape), 1)
    assert abs(rotation_stability(labels, scrambled, k=1)) < 0.01
    with pytest.raises(SegmentationError, match="shape"):
        rotation_stability(labels, labels, k=1)


# --- baselines --------------------------------------------------------------------------------------------


# --- context consistency ----------------------------------------------------------------------------------


def test_fragmentation_of_the_real_crop_clustering(crop_result):
    graph, clustering = crop_result.graph, crop_result.clustering
    raw = fragmentation(graph, clustering.cluster)
    assigned = fragmentation(graph, clustering.cluster_noise_assigned())
    assert 0.0 < assigned < 0.25 and 0.0 < raw < 0.25


# --- real reference data: Aberystwyth ---------------------------------------------------------------------


def test_load_reference_reads_and_reprojects_onto_the_scene_grid(aber, aberystwyth_dir):
    scene, ref = aber
    assert ref.shape == scene.shape and ref.dtype == np.int32
    assert np.bincount(ref.ravel()).tolist() == [0, 170911, 430325, 196426, 83048]
    # the original map has one extra column on the west: reprojection (nearest) drops it exactly
    np.testing.assert_array_equal(load_reference(aberystwyth_dir / "sen2_20210527_aber_cls.tif", scene), ref)


def test_load_reference_rejects_missing_and_disjoint_rasters(aber, tmp_path, tif_writer):
    scene, _ = aber
    far = tif_writer(tmp_path / "far.tif", np.ones((10, 10), np.uint8), transform=Affine(10, 0, 0, 0, -10, 100),
                     crs=scene.crs)
    with pytest.raises(SceneError, match="far.tif: reference raster does not overlap"):
        load_reference(far, scene)
    with pytest.raises(SceneError, match="missing.tif"):
        load_reference(tmp_path / "missing.tif", scene)


