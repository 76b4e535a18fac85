"""Fixtures of the display tests."""

from __future__ import annotations

import pytest

import s2label
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation
from tests.display._grids import ORIGIN, UTM, quadrant_labels


@pytest.fixture
def utm_quadrants() -> Segmentation:
    return Segmentation(quadrant_labels(), ORIGIN, UTM)


@pytest.fixture(scope="module")
def crop_segmentation(real_crop: Scene) -> Segmentation:
    return s2label.segment(real_crop, segment_size=150)
