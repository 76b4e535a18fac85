"""Fixtures of the evaluation tests."""

import pytest

import s2label
from s2label.evaluation.measures import (
    load_reference,
)


@pytest.fixture(scope="module")
def aber(aberystwyth_dir):
    scene = s2label.read_scene(aberystwyth_dir / "sen2_20210527_aber_10band_mosaic.tif", scale=1e-3)
    return scene, load_reference(aberystwyth_dir / "sen2_20210527_aber_cls_aligned.tif", scene)
