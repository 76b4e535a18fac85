import numpy as np
import pytest

from s2label import LabelSession
from s2label.errors import SegmentationError, SessionError
from s2label.evaluation.summary import label_spectra, session_spectra, spectra_of_labels
from s2label.io.bands import WAVELENGTH_NM
from s2label.segmentation.superpixels import Segmentation


def test_each_quadrant_its_own_spectrum(quadrants):
    scene, seg = quadrants  # bands B02 B03 B04 B08, spectra known
    spectra = label_spectra(scene, seg, np.array([0, 1, 2, 3]), names={0: "crop"})
    np.testing.assert_allclose(spectra.mean[0], [0.05, 0.08, 0.04, 0.40], rtol=1e-6)
    np.testing.assert_allclose(spectra.ndvi[0], (0.40 - 0.04) / (0.40 + 0.04), rtol=1e-6)
    np.testing.assert_allclose(spectra.ndwi[2], (0.04 - 0.01) / (0.04 + 0.01), rtol=1e-6)
    assert spectra.n_pixels.tolist() == [900] * 4 and spectra.names[:2] == ("crop", "cluster 1")
    assert spectra.wavelengths_nm.tolist() == [WAVELENGTH_NM[b] for b in ("B02", "B03", "B04", "B08")]
    assert 800 < spectra.wavelengths_nm[3] < 900  # B08: near-infrared
    assert spectra.where(ndvi_above=0.5) == [0] and spectra.where(ndwi_above=0.5) == [2]
    rows = spectra.rows()
    assert rows[0]["label"] == 0 and rows[0]["B08"] == 0.4 and rows[0]["n_pixels"] == 900


def test_pixel_weighted_and_noise_grouped(quadrants):
    scene, seg = quadrants
    # quadrants 1 and 2 (900 px each) form label 5, 3 and 4 are noise (-1 and -7 both count as noise)
    spectra = label_spectra(scene, seg, np.array([5, 5, -1, -7]))
    assert spectra.labels.tolist() == [-1, 5] and spectra.names == ("noise", "cluster 5")
    assert spectra.ndwi[0] > -1.0 and spectra.where(ndwi_above=-1.0) == [5]  # noise is not a label to pick
    np.testing.assert_allclose(spectra.mean[1], ([0.05, 0.08, 0.04, 0.40] + np.array([0.10, 0.12, 0.15, 0.20])) / 2,
                               rtol=1e-6)
    # unequal sizes weigh by pixels
    weighted = spectra_of_labels(np.array([[0.0], [1.0]]), np.array([1, 3]), np.array([0, 0]), ["B04"])
    assert weighted.mean[0, 0] == pytest.approx(0.75) and np.isnan(weighted.ndvi[0])


def test_bad_input(quadrants, quadrant_scene):
    scene, seg = quadrants
    with pytest.raises(SegmentationError, match=r"expected \(4,\)"):
        label_spectra(scene, seg, np.array([0, 1, 2]))
    other = Segmentation(np.ones((10, 10), np.int32), scene.transform, scene.crs)
    with pytest.raises(SegmentationError, match="not on the scene's grid"):
        label_spectra(scene, other, np.array([0]))
    with pytest.raises(SegmentationError, match="do not describe the same"):
        spectra_of_labels(np.zeros((3, 2)), np.ones(3), np.zeros(3), ["B04"])


def test_session_spectra_follow_the_edits(crop_result):
    session = LabelSession.from_result(crop_result)
    before = session_spectra(session)
    assert before.n_pixels.sum() == crop_result.scene.valid.sum()
    a, b = (lab.id for lab in session.labels[:2])
    session.merge([a, b], name="merged")
    after = session_spectra(session)
    i = after.labels.tolist().index(a)
    assert after.names[i] == "merged"
    ia, ib = before.labels.tolist().index(a), before.labels.tolist().index(b)
    expected = (before.mean[ia] * before.n_pixels[ia] + before.mean[ib] * before.n_pixels[ib]) / (
        before.n_pixels[ia] + before.n_pixels[ib])
    np.testing.assert_allclose(after.mean[i], expected, rtol=1e-5)
    # the same figures as from the scene itself
    direct = label_spectra(crop_result.scene, session.segmentation, session.label_of_segment())
    np.testing.assert_allclose(direct.mean, after.mean, rtol=1e-4)


def test_session_without_spectra(crop_result):
    session = LabelSession(crop_result.segmentation, crop_result.embeddings, crop_result.clustering)
    with pytest.raises(SessionError, match="no segment spectra"):
        session_spectra(session)
