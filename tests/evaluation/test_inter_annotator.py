"""Two annotators' agreement: kappa, IoU and the confusion table (s2label/agreement.py)."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from s2label.errors import SessionError
from s2label.evaluation.inter_annotator import agreement
from s2label.session.label_session import LabelSession


def test_two_annotators_on_the_real_crop_agree_as_computed_by_hand(crop_result):
    first = LabelSession.from_result(crop_result)
    second = LabelSession.from_result(crop_result)
    ids = [lab.id for lab in first.labels]
    first.rename(ids[0], "water"), first.rename(ids[1], "field"), first.rename(ids[2], "town")
    second.rename(ids[0], "water"), second.merge([ids[1], ids[2]], name="field")  # no town: it is all field
    second.assign([int(np.flatnonzero(first.label_of_segment() == ids[0])[0]) + 1], ids[1])  # one water segment
    result = agreement(first, second)
    # by hand: each pixel's name in both maps, compared by sklearn
    def names(session):
        table = {lab.id: lab.name for lab in session.labels}
        raster = session.label_raster()
        return np.array([table.get(int(v), "unlabelled") for v in raster.ravel()], object), raster.ravel() != -2
    na, oka = names(first)
    nb, okb = names(second)
    ok = oka & okb
    assert result.n_pixels == int(ok.sum())
    assert result.kappa == pytest.approx(cohen_kappa_score(na[ok], nb[ok]))
    assert result.accuracy == pytest.approx(float((na[ok] == nb[ok]).mean()))
    i_town, i_field = result.labels.index("town"), result.labels.index("field")
    assert result.confusion[i_town].sum() == result.confusion[i_town, i_field] > 0  # all town is field for B
    assert result.iou["town"] == 0.0 and 0 < result.iou["field"] < 1 and 0 < result.iou["water"] < 1
    water = (na[ok] == "water") | (nb[ok] == "water")
    assert result.iou["water"] == pytest.approx(float(((na[ok] == "water") & (nb[ok] == "water")).sum() / water.sum()))
    assert agreement(first, first).kappa == 1.0


def test_agreement_refuses_maps_it_cannot_compare():
    with pytest.raises(SessionError, match="different shapes"):
        agreement(np.zeros((2, 2), int), np.zeros((2, 3), int))
    with pytest.raises(SessionError, match="no pixel in common"):
        agreement(np.full((2, 2), -2), np.zeros((2, 2), int))
    with pytest.raises(SessionError, match="no name"):
        agreement(np.array([[0, 1]]), np.array([[0, 1]]), names_a={0: "water"})
    with pytest.raises(SessionError, match="integer label ids"):
        agreement(np.zeros((2, 2)), np.zeros((2, 2), int))
