import numpy as np
import pytest

from s2label.display.colours import is_hex_colour, palette, to_hex, to_rgb


def test_palette_is_deterministic_distinct_and_readable() -> None:
    p = palette(20)
    assert p.shape == (20, 3) and p.dtype == np.uint8
    assert p[:3].tolist() == [[31, 119, 180], [255, 127, 14], [44, 160, 44]]     # tab10 first
    big = palette(5000)
    np.testing.assert_array_equal(big[:20], p)
    np.testing.assert_array_equal(big, palette(5000))
    np.testing.assert_array_equal(palette(20_000)[:5000], big)              # colour i does not depend on n
    assert len(np.unique(big, axis=0)) == 5000
    extra = big[20:].astype(float) / 255
    assert (extra.max(axis=1) >= 0.55).all()                      # never near-black
    assert ((extra.max(axis=1) - extra.min(axis=1)) >= 0.2).all()  # never grey or near-white
    shuffled = palette(30, seed=3)
    assert not np.array_equal(shuffled, palette(30))
    assert sorted(map(tuple, shuffled.tolist())) == sorted(map(tuple, palette(30).tolist()))
    np.testing.assert_array_equal(shuffled, palette(30, seed=3))
    assert palette(0).shape == (0, 3)
    assert len(np.unique(palette(50_000), axis=0)) == 50_000


# --- PNG data URLs -----------------------------------------------------------------------------------


def test_hex_round_trip_and_bad_colours():
    assert to_hex(to_rgb("#A0b1C2")) == "#a0b1c2"
    assert is_hex_colour("#000000") and not is_hex_colour("000000") and not is_hex_colour(None)
    with pytest.raises(ValueError, match="colour must look like"):
        to_rgb("blue")
