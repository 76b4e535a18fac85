import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from s2label import LabelSession  # noqa: E402
from s2label.display.colours import palette, to_rgb  # noqa: E402
from s2label.errors import SegmentationError  # noqa: E402
from s2label.evaluation import plot  # noqa: E402
from s2label.evaluation.compare import MethodScores  # noqa: E402
from s2label.evaluation.summary import label_spectra  # noqa: E402
from s2label.segmentation.superpixels import Segmentation  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _image(ax):
    return np.asarray(ax.images[0].get_array())


def test_scene_rgb_stretch_and_no_data(scene_factory):
    data = np.tile(np.linspace(0, 1, 50, dtype=np.float32), (4, 50, 1))
    valid = np.ones((50, 50), bool)
    valid[:, :5] = False
    rgba = plot.scene_rgb(scene_factory(data, valid=valid), "true", percentiles=(0, 100))
    assert rgba.shape == (50, 50, 4) and (rgba[:, :5, 3] == 0).all() and (rgba[:, 5:, 3] == 1).all()
    assert rgba[0, 5, 0] == 0 and rgba[0, -1, 0] == 1  # darkest / brightest valid column
    false = plot.scene_rgb(scene_factory(data * np.arange(1, 5)[:, None, None]), "false")
    assert false.shape == (50, 50, 4)
    with pytest.raises(ValueError, match="'true', 'false'"):
        plot.scene_rgb(scene_factory(data), "natural")
    with pytest.raises(ValueError, match="3 bands"):
        plot.scene_rgb(scene_factory(data), ["B02", "B03"])


def test_segment_boundaries_drawn(quadrants):
    scene, seg = quadrants
    ax = plot.show_segments(scene, seg, colour="#ff0000")
    img = _image(ax)
    red = (img[..., 0] == 1) & (img[..., 1] == 0) & (img[..., 2] == 0)
    # inner boundaries: the two pixel lines either side of the cross, 60 px long each, minus the crossing
    assert red[29, 10] and red[30, 10] and red[10, 29] and red[10, 30] and not red[10, 10]
    assert red.sum() == 4 * 60 - 4
    assert ax.get_title() == "60 x 60 px, 4 segments"


def test_label_map_colours_noise_and_legend(quadrants):
    _, seg = quadrants
    ax = plot.show_labels(seg, np.array([0, 2, -1, 2]), names={2: "water"}, colours={0: "#000080"})
    img = _image(ax)
    np.testing.assert_allclose(img[0, 0], np.array(to_rgb("#000080")) / 255)
    np.testing.assert_allclose(img[0, 59], palette(3)[2] / 255)
    np.testing.assert_allclose(img[59, 0], plot.NOISE_COLOUR)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["water", "cluster 0"]  # largest first
    assert ax.get_title() == "2 labels (grey: noise)"
    per_pixel = plot.show_labels(seg, np.array([0, 2, -1, 2])[seg.ids - 1])
    np.testing.assert_array_equal(_image(per_pixel)[:, 30:], img[:, 30:])
    with pytest.raises(SegmentationError, match="expected"):
        plot.show_labels(seg, np.array([0, 1]))


def test_reference_map_no_data_white():
    ref = np.array([[1, 1], [-2, 4]])
    img = _image(plot.show_label_map(ref, names={1: "Forest", 4: "Water"}))
    assert (img[1, 0] == 1).all() and not (img[0, 0] == 1).all()
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        plot.show_label_map(np.zeros(4, int))


def test_session_map_uses_its_names_and_colours(crop_result):
    session = LabelSession.from_result(crop_result)
    first = session.labels[0].id
    session.rename(first, "salt marsh")
    session.set_colour(first, "#123456")
    ax = plot.show_session(session)
    assert "salt marsh" in [t.get_text() for t in ax.get_legend().get_texts()]
    img = _image(ax)
    rows = np.flatnonzero(session.label_of_segment() == first)
    r, c = np.argwhere(session.segmentation.ids == rows[0] + 1)[0]
    np.testing.assert_allclose(img[r, c], np.array(to_rgb("#123456")) / 255)


def test_segment_values(quadrants):
    _, seg = quadrants
    ax = plot.show_segment_values(seg, np.array([0.1, 0.2, 0.3, 0.4]), label="similarity")
    img = _image(ax)
    assert img[0, 0] == pytest.approx(0.1) and img[59, 59] == pytest.approx(0.4)
    assert ax.figure.axes[1].get_ylabel() == "similarity"  # the colour bar
    with pytest.raises(SegmentationError):
        plot.show_segment_values(seg, np.zeros(3))


def test_spectra_lines(quadrants):
    scene, seg = quadrants
    ax = plot.plot_spectra(label_spectra(scene, seg, np.array([0, 1, 2, -1])))
    assert len(ax.lines) == 4
    x, y = ax.lines[0].get_data()
    assert list(x) == sorted(x) and len(y) == 4


def test_score_bars_skip_empty_measures():
    nan = math.nan
    scores = [MethodScores("mean-spectra-kmeans", 5, 0.0, 0.4, fragmentation=0.3, ssim=0.5, ssim_random=0.4),
              MethodScores("cnn-gnn", 5, 0.1, 0.3, fragmentation=0.2, ssim=0.6, ssim_random=0.4, ari=nan)]
    fig = plot.plot_scores(scores)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 2 and titles[0].startswith("fragmentation") and "lower is better" in titles[0]
    heights = [p.get_height() for p in fig.axes[1].patches]
    assert heights == [0.5, 0.6]
    assert fig.axes[1].lines[0].get_ydata()[0] == pytest.approx(0.4)  # random pairs
    with pytest.raises(ValueError, match="no measure"):
        plot.plot_scores(scores, measures=["ari"])


def test_segments_of_a_large_scene_zoom_to_its_centre(scene_factory):
    scene = scene_factory(np.random.default_rng(0).random((4, 1000, 900)))
    seg = Segmentation(np.arange(1, 1000 * 900 + 1).reshape(1000, 900) // 50 + 1, scene.transform, scene.crs)
    ax = plot.show_segments(scene, seg)
    assert _image(ax).shape[:2] == (512, 512)
    assert ax.get_title().startswith("rows 244-756, columns 194-706 of 900 x 1000 px")
    assert _image(plot.show_segments(scene, seg, window=None)).shape[:2] == (1000, 900)
    assert _image(plot.show_segments(scene, seg, window=((0, 10), (890, 990)))).shape[:2] == (10, 10)
    with pytest.raises(ValueError, match="holds no pixel"):
        plot.show_segments(scene, seg, window=((0, 10), (950, 990)))
