"""Carrying the edits of one clustering's session to another clustering of the same segments."""

import numpy as np
import pytest

import s2label
from s2label.encoders.embeddings import Embeddings
from s2label.errors import SessionError
from s2label.session.carry import carry_over
from s2label.session.label_session import UNLABELLED, LabelSession

BLOB = {k: np.arange(1, 61) + 60 * k for k in range(4)}  # segment ids of the four blobs of blob_parts


@pytest.fixture
def reclustered(blob_parts):
    """Another clustering of blob_parts' segments: blobs 0 and 1 as one cluster, blob 3 as two (181-210, 211-240)."""
    seg, _, _ = blob_parts
    rng = np.random.default_rng(1)
    centres = [0] * 120 + [6] * 60 + [20] * 30 + [40] * 30
    vectors = (np.array(centres, np.float32)[:, None] + rng.normal(0, 0.3, (240, 3))).astype(np.float32)
    emb = Embeddings(vectors, np.arange(1, 241), "cnn-gnn")
    clustering = s2label.cluster(emb, reduce="none", min_cluster_size=10)
    groups = [np.arange(1, 121), BLOB[2], np.arange(181, 211), np.arange(211, 241)]
    assert clustering.n_clusters == 4 and all(np.unique(clustering.cluster[g - 1]).size == 1 for g in groups)
    return seg, emb, clustering


def blob_label(session, blob):
    return session.label_of(int(BLOB[blob][0]))


def test_a_named_label_takes_the_new_clusters_mostly_inside_it_and_hand_segments_keep_theirs(blob_parts,
                                                                                              reclustered):
    old, new = LabelSession(*blob_parts), LabelSession(*reclustered)
    town, water = blob_label(old, 3), blob_label(old, 2)
    old.rename(town, "town")
    old.set_colour(town, "#ff0000")
    old.rename(water, "water")
    old.assign([5, 6], water)            # two segments of blob 0 into water by hand
    old.assign([7], UNLABELLED)          # one unlabelled by hand
    blob2_colour = new.label(blob_label(new, 2)).colour
    carried = carry_over(old, new)
    # blob 3 became two new clusters, both wholly inside "town": merged into one label with its name and colour
    town_new = new.label_by_name("town")
    assert len(carried.clusters[town]) == 2 and carried.overlap[town] == 1.0
    assert {new.label_of(int(s)) for s in BLOB[3]} == {town_new.id} and town_new.colour == "#ff0000"
    assert {new.label_of(int(s)) for s in BLOB[2]} == {new.label_by_name("water").id}
    assert new.label_by_name("water").colour == blob2_colour  # not recoloured: the new cluster's colour
    assert [new.label_of(s) for s in (5, 6, 7)] == [new.label_by_name("water").id] * 2 + [UNLABELLED]
    assert new.manual_rows().sum() == 3 and carried.segments == 3
    # the untouched blobs 0 and 1 are simply the new cluster (one, default name)
    assert new.label(blob_label(new, 0)).name.startswith("cluster")
    assert carried.labels == {town: town_new.id, water: new.label_by_name("water").id}
    assert "2 label(s), 3 segment(s) set by hand" in carried.summary()


def test_two_labels_sharing_a_new_cluster_half_and_half(blob_parts, reclustered):
    """Blobs 0 and 1 are one new cluster, half in each old label: no majority; the first takes it (its best
    overlap), the second is made anew and keeps only its hand-set segments."""
    old, new = LabelSession(*blob_parts), LabelSession(*reclustered)
    forest, grass = blob_label(old, 0), blob_label(old, 1)
    old.rename(forest, "forest")
    old.rename(grass, "grass")
    old.assign([70, 71], grass)
    carried = carry_over(old, new)
    assert carried.made_anew == (grass,)
    assert {new.label_of(int(s)) for s in BLOB[0]} == {new.label_by_name("forest").id}
    grass_new = new.label_by_name("grass")
    assert grass_new.source == "manual" and np.flatnonzero(new.label_of_segment() == grass_new.id).tolist() == [69, 70]
    assert "1 label(s) matched no new cluster" in carried.summary()


def test_hand_made_labels_hidden_labels_and_pixel_polygons_carry(blob_parts, reclustered):
    old, new = LabelSession(*blob_parts), LabelSession(*reclustered)
    road = old.create_label("road", [1, 2, 3], colour="#777777")
    hidden = blob_label(old, 2)
    old.hide(hidden)
    seg = blob_parts[0]
    x0, y0 = seg.transform * (0, 0)   # the top-left pixel (segment 1) as a pixel-exact polygon
    square = {"type": "Polygon", "coordinates": [[[x0 + 1, y0 - 1], [x0 + 9, y0 - 1], [x0 + 9, y0 - 9],
                                                  [x0 + 1, y0 - 9], [x0 + 1, y0 - 1]]]}
    old.assign_pixels(square, blob_label(old, 3))
    old.assign([200], blob_label(old, 3))
    old.propagate()
    carried = carry_over(old, new)
    made = new.label_by_name("road")
    assert made.source == "manual" and made.colour == "#777777" and made.id == carried.labels[road]
    assert new.label(carried.labels[hidden]).hidden
    assert carried.pixel_polygons == 1 and carried.propagations == 1
    (pixels, lid), = new.pixel_overrides()
    (old_pixels, _), = old.pixel_overrides()
    assert lid == new.label_of(int(BLOB[3][0])) and np.array_equal(pixels, old_pixels)
    assert "propagate again" in carried.summary()


def test_each_carried_edit_is_in_the_new_store(blob_parts, reclustered, tmp_path):
    old, new = LabelSession(*blob_parts), LabelSession(*reclustered, autosave=tmp_path / "s.sqlite")
    old.rename(blob_label(old, 2), "water")
    old.assign([5], blob_label(old, 2))
    carry_over(old, new)
    new.close()
    again = LabelSession.load(tmp_path / "s.sqlite", *reclustered)
    assert again.label_of(5) == again.label_by_name("water").id == again.label_of(int(BLOB[2][0]))


def test_untouched_sessions_carry_nothing(blob_parts, reclustered):
    new = LabelSession(*reclustered)
    carried = carry_over(LabelSession(*blob_parts), new)
    assert not new.edits and carried.labels == {} and carried.segments == 0


def test_refuses_other_segments_and_an_edited_target(blob_parts, reclustered, crop_result):
    old = LabelSession(*blob_parts)
    with pytest.raises(SessionError, match="different segments"):
        carry_over(LabelSession.from_result(crop_result), LabelSession(*reclustered))
    new = LabelSession(*reclustered)
    new.rename(new.labels[0].id, "x")
    with pytest.raises(SessionError, match="1 edit"):
        carry_over(old, new)


def test_first_look_to_learned_on_the_real_crop(crop_cnn_gnn, real_crop):
    """The real pair: the first look (spectral, PCA) and the cnn-gnn clusters of the same run's segments."""
    from s2label.pipeline.run_folder import load_run

    look = load_run(crop_cnn_gnn.out_dir / "spectral", real_crop)
    old, new = LabelSession.from_result(look), LabelSession.from_result(crop_cnn_gnn)
    biggest = max(old.labels, key=lambda lab: old.areas_px()[lab.id])
    old.rename(biggest.id, "vegetation")
    hand = np.flatnonzero(old.label_of_segment() != biggest.id)[:5] + 1
    old.assign(hand.tolist(), biggest.id)
    carried = carry_over(old, new)
    veg = new.label_by_name("vegetation")
    assert all(new.label_of(int(s)) == veg.id for s in hand)
    # every new cluster more than half inside the old label's cluster-made pixels went to it, and only those
    areas = look.segmentation.areas()
    inside = (old.label_of_segment() == biggest.id) & ~old.manual_rows()
    expected = {int(k) for k in np.unique(crop_cnn_gnn.clustering.cluster) if k >= 0
                and areas[(crop_cnn_gnn.clustering.cluster == k) & inside].sum()
                > 0.5 * areas[crop_cnn_gnn.clustering.cluster == k].sum()}
    assert set(carried.clusters[biggest.id]) == expected and expected
    assert 0.5 < carried.overlap[biggest.id] <= 1.0
