"""Download links: the data URL decodes to the file's bytes, media types by suffix, the size cut-off, escaping."""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser

import pytest

from s2label.widget.download import download_link, human_size, mime_type


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def parse(markup: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(markup)
    parser.close()
    return parser


def test_link_holds_the_file(tmp_path):
    content = bytes(range(256)) * 40 + b"tail"                  # 10,244 bytes, every byte value
    path = tmp_path / "labels.gpkg"
    path.write_bytes(content)
    page = parse(download_link(path))
    [anchor] = page.anchors
    assert anchor["download"] == "labels.gpkg"
    media, data = re.fullmatch(r"data:([^;]+);base64,([A-Za-z0-9+/=]+)", anchor["href"]).groups()
    assert media == "application/geopackage+sqlite3"
    assert base64.b64decode(data, validate=True) == content
    assert "".join(page.text) == "download labels.gpkg (10.2 kB)"
    assert "".join(parse(download_link(path, text="save <it>")).text) == "save <it>"     # text escaped


@pytest.mark.parametrize("name,media", [("a.geojson", "application/geo+json"), ("b.GeoJSON", "application/geo+json"),
                                        ("c.gpkg", "application/geopackage+sqlite3"), ("d.tif", "image/tiff"),
                                        ("e.TIFF", "image/tiff"), ("f.json", "application/json"),
                                        ("g.csv", "application/octet-stream"), ("noext", "application/octet-stream")])
def test_media_types(tmp_path, name, media):
    path = tmp_path / name
    path.write_text("{}")
    assert mime_type(path) == media
    assert parse(download_link(path)).anchors[0]["href"].startswith(f"data:{media};base64,")


def test_size_cut_off(tmp_path):
    path = tmp_path / "scene.tif"
    path.write_bytes(b"x" * 1000)
    assert parse(download_link(path, max_bytes=1000)).anchors                 # exactly at the limit: a link
    note = download_link(path, max_bytes=999)
    assert parse(note).anchors == [] and "data:" not in note
    assert "too large for a download link" in note and html.escape(str(path)) in note
    assert note.startswith('<span class="s2label-download-too-large">')
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert "".join(parse(download_link(empty, max_bytes=0)).text) == "download empty.json (0 B)"
    with pytest.raises(ValueError):
        download_link(path, max_bytes=-1)


def test_escaping(tmp_path):
    path = tmp_path / 'a"<b>&c\'.geojson'
    path.write_text("[]")
    link = download_link(path)
    assert 'download="a&quot;&lt;b&gt;&amp;c&#x27;.geojson"' in link
    anchor = parse(link).anchors[0]
    assert anchor["download"] == 'a"<b>&c\'.geojson'                       # the parser gets the name back
    assert "".join(parse(link).text) == 'download a"<b>&c\'.geojson (2 B)'
    note = download_link(path, max_bytes=1)
    assert "<b>" not in note and "a&quot;&lt;b&gt;&amp;c&#x27;.geojson" in note


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nothing.gpkg"
    with pytest.raises(FileNotFoundError, match="nothing.gpkg") as info:
        download_link(missing)
    assert info.value.filename == str(missing)
    with pytest.raises(IsADirectoryError):
        download_link(tmp_path)


def test_human_size():
    assert [human_size(n) for n in (0, 999, 1000, 12_345, 999_949, 999_960, 5_500_000, 10**13)] == [
        "0 B", "999 B", "1.0 kB", "12.3 kB", "999.9 kB", "1.0 MB", "5.5 MB", "10.0 TB"]
    with pytest.raises(ValueError):
        human_size(-1)
