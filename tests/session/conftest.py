"""Fixtures and helpers of the session tests."""

import pytest

from s2label.session.label_session import LabelSession


@pytest.fixture
def session(blob_parts):
    return LabelSession(*blob_parts)


def blob_label(session, blob):
    """The label of the first segment of blob ``blob`` (0..3)."""
    return session.label_of(blob * 60 + 1)
