"""Fixtures for cloud-native input: Cloud-Optimised GeoTIFFs made from the real default scene, a static STAC
catalogue describing them, and a local HTTP server that answers Range requests and counts the bytes it sends.

Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import rasterio
from rasterio.warp import transform_bounds, transform_geom

from s2label.io.datasets import sample_scene_path

#: Asset key (as Earth Search spells it) -> Sentinel-2 band, for the bands written as COGs.
#: B11 stays on its native 20 m grid so the reader's resampling path runs over HTTP.
COG_ASSETS: dict[str, str] = {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "swir16": "B11"}
COMMON_NAME = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir", "B11": "swir16"}
ITEM_ID = "S2A_18SUJ_20160512_0_L1C"

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


# --- an HTTP server with Range support -------------------------------------------------------------------

class RangeRequestHandler(SimpleHTTPRequestHandler):
    """Serve files from a folder, honouring single ``Range: bytes=a-b`` requests (206 Partial Content).

    Python's :class:`SimpleHTTPRequestHandler` ignores ``Range``, which would make GDAL download whole files.
    Multi-range requests are answered with the whole file (allowed by RFC 9110). Every body byte sent is
    counted on the server, per file.
    """

    server: CountingHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404, "File not found")
            return
        size = path.stat().st_size
        start, end, status = 0, size - 1, 200
        match = _RANGE_RE.match(self.headers.get("Range", "").strip())
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            else:  # suffix range: the last N bytes
                start, end = max(size - int(match.group(2)), 0), size - 1
            if start >= size or end < start:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not send_body:
            return
        with path.open("rb") as f:
            f.seek(start)
            body = f.read(end - start + 1)
        self.wfile.write(body)
        self.server.count(path.name, len(body))

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet


class CountingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self.bytes_by_file: Counter[str] = Counter()
        self.requests = 0

    def count(self, name: str, n: int) -> None:
        with self._lock:
            self.bytes_by_file[name] += n
            self.requests += 1


@dataclass
class RangeServer:
    """A running server: ``url`` is the root URL (no trailing slash) of ``root``."""

    root: Path
    url: str
    httpd: CountingHTTPServer

    @property
    def bytes_served(self) -> int:
        return sum(self.httpd.bytes_by_file.values())

    @property
    def bytes_by_file(self) -> Counter[str]:
        return self.httpd.bytes_by_file

    def reset(self) -> None:
        with self.httpd._lock:
            self.httpd.bytes_by_file.clear()
            self.httpd.requests = 0


def serve(root: Path, port: int = 0) -> Generator[RangeServer, None, None]:
    """Serve ``root`` on 127.0.0.1 (on a free port unless ``port`` is given) in a background thread until the
    generator is closed."""
    httpd = CountingHTTPServer(("127.0.0.1", port), partial(RangeRequestHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="range-http",
                              daemon=True)
    thread.start()
    try:
        yield RangeServer(root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# --- COGs and a static STAC catalogue made from the real default scene ------------------------------------

@dataclass
class StacCatalogue:
    """The built catalogue: ``item_path`` is the item JSON, ``cogs`` maps band -> COG file beside it."""

    root: Path
    item_path: Path
    cogs: dict[str, Path] = field(default_factory=dict)

    @property
    def item_rel(self) -> str:
        return self.item_path.relative_to(self.root).as_posix()


def write_cog(src: Path, dst: Path, *, blocksize: int = 256) -> Path:
    """Rewrite a real single-band scene file as a tiled, DEFLATE-compressed Cloud-Optimised GeoTIFF."""
    with rasterio.open(src) as ds:
        data = ds.read(1)
        profile = dict(driver="COG", width=ds.width, height=ds.height, count=1, dtype=data.dtype.name,
                       crs=ds.crs, transform=ds.transform, nodata=0, COMPRESS="DEFLATE",
                       BLOCKSIZE=str(blocksize), OVERVIEWS="AUTO")
    with rasterio.open(dst, "w", **profile) as out:
        out.write(data, 1)
    return dst


def build_stac_catalogue(root: Path) -> StacCatalogue:
    """Write COGs of some real bands and a self-contained STAC catalogue (one item) describing them.

    Asset keys and ``eo:bands`` follow Earth Search (key ``red``, ``eo:bands`` name ``B04``, common name
    ``red``); a thumbnail and a metadata asset are added, which the reader must ignore.
    """
    import pystac

    src_dir = sample_scene_path()
    item_dir = root / ITEM_ID
    item_dir.mkdir(parents=True)
    cogs = {band: write_cog(src_dir / f"s2_{band}.jp2", item_dir / f"{band}.tif") for band in COG_ASSETS.values()}
    with rasterio.open(cogs[next(iter(cogs))]) as ds:
        bounds = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        west, south, east, north = ds.bounds
        footprint = transform_geom(ds.crs, "EPSG:4326", {
            "type": "Polygon",
            "coordinates": [[(west, south), (east, south), (east, north), (west, north), (west, south)]]})
        epsg = ds.crs.to_epsg()
    item = pystac.Item(ITEM_ID, footprint, list(bounds), dt.datetime(2016, 5, 12, 15, 59, 2, tzinfo=dt.timezone.utc),
                       {"platform": "sentinel-2a", "constellation": "sentinel-2", "proj:epsg": epsg})
    for key, band in COG_ASSETS.items():
        item.add_asset(key, pystac.Asset(
            f"./{cogs[band].name}", title=f"{COMMON_NAME.get(band, band)} ({band})", media_type=pystac.MediaType.COG,
            roles=["data"],
            extra_fields={"eo:bands": [{"name": band, "common_name": COMMON_NAME.get(band, band)}],
                          "raster:bands": [{"data_type": "uint16", "nodata": 0, "scale": 0.0001, "offset": 0}]}))
    (item_dir / "preview.jpg").write_bytes(b"\xff\xd8\xff\xd9")  # never opened: not an image asset we read
    item.add_asset("thumbnail", pystac.Asset("./preview.jpg", media_type=pystac.MediaType.JPEG, roles=["thumbnail"]))
    (item_dir / "metadata.xml").write_text("<metadata/>")
    item.add_asset("metadata", pystac.Asset("./metadata.xml", media_type=pystac.MediaType.XML, roles=["metadata"]))
    catalog = pystac.Catalog("s2label-test", "Real Sentinel-2 bands as COGs")
    catalog.add_item(item)
    catalog.normalize_and_save(str(root), catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return StacCatalogue(root, root / ITEM_ID / f"{ITEM_ID}.json", cogs)


@pytest.fixture(scope="session")
def stac_catalogue(tmp_path_factory: pytest.TempPathFactory) -> StacCatalogue:
    """5 real bands (B02, B03, B04, B08 at 10 m; B11 at 20 m) of the default scene as COGs, in a STAC item."""
    pytest.importorskip("pystac")
    return build_stac_catalogue(tmp_path_factory.mktemp("stac"))


@pytest.fixture(scope="session")
def stac_server(stac_catalogue: StacCatalogue) -> Iterator[RangeServer]:
    """The STAC catalogue served over HTTP (with Range support) on 127.0.0.1."""
    yield from serve(stac_catalogue.root)


@pytest.fixture
def start_server() -> Iterator[Callable[..., RangeServer]]:
    """``start(root, port=0)`` starts a Range server over ``root`` (e.g. from a timer thread, on a port chosen
    beforehand); every server started is stopped when the test ends."""
    running: list[Generator[RangeServer, None, None]] = []
    lock = threading.Lock()

    def start(root: Path, port: int = 0) -> RangeServer:
        gen = serve(root, port)
        server = next(gen)
        with lock:
            running.append(gen)
        return server

    yield start
    for gen in running:
        gen.close()


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])



@pytest.fixture
def fresh_stac_server(stac_catalogue: StacCatalogue) -> Iterator[RangeServer]:
    """The STAC catalogue on a server of its own (new port: GDAL's HTTP cache holds nothing of it yet), for
    counting the bytes one read transfers."""
    yield from serve(stac_catalogue.root)
