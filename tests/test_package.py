"""The package's shape: a light top level, subpackages by layer that import only the layers below them, no public
name hidden by a module, and the old paths and names still working (with a FutureWarning) for one release."""

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import s2label

PACKAGE = Path(s2label.__file__).parent

#: The layers, bottom first: a module may import its own layer and the ones before it, never one after it.
LAYERS = ("core", "io", "segmentation", "encoders", "clustering", "display", "session", "evaluation", "widget",
          "pipeline")
SUBPACKAGES = LAYERS[1:]
#: What importing s2label must not pull in (each costs seconds, or needs a display).
HEAVY = ("torch", "torch_geometric", "dask", "distributed", "ipyleaflet", "ipywidgets", "hdbscan", "umap",
         "sklearn", "rasterio", "skimage", "matplotlib")


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else "core"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(("s2label",) + path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        yield name, path


def test_import_s2label_loads_nothing_heavy():
    code = (f"import sys, s2label; heavy = {HEAVY!r}; print(','.join(m for m in heavy if m in sys.modules)); "
            "print(len(s2label.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "", f"import s2label imported {out[0]}"
    assert 25 <= int(out[1]) <= 40                          # ~25 names for the README, and the subpackages


def test_cli_help_loads_nothing_heavy():
    code = ("import sys, contextlib, io; from s2label.pipeline.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['run', '--help'])\n"
            "    except SystemExit: pass\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"s2label run --help imported {out}"


@pytest.mark.parametrize("package", ("s2label",) + tuple(f"s2label.{p}" for p in SUBPACKAGES))
def test_every_lazy_name_loads_and_no_module_hides_a_name(package):
    pkg = importlib.import_module(package)
    for name in pkg.__all__:
        value = getattr(pkg, name)
        assert value is not None, f"{package}.{name}"
    # a name is never a module of the same package (importing that module would replace the name)
    modules = {p.stem for p in Path(pkg.__file__).parent.glob("*.py")} | {
        p.name for p in Path(pkg.__file__).parent.iterdir() if (p / "__init__.py").is_file()}
    for name in pkg.__all__:
        if name in modules:
            assert isinstance(getattr(pkg, name), type(sys)), f"{package}.{name} is a module and also a name"


def test_layers_import_only_the_layers_below():
    wrong = []
    for name, path in _modules():
        if name == "s2label.__main__":
            continue                                         # the command's entry point
        here = LAYERS.index(_layer(name))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("s2label"):
                target = _layer(node.module)
                if LAYERS.index(target) > here:
                    wrong.append(f"{name} imports {node.module} ({_layer(name)} -> {target})")
            assert not (isinstance(node, ast.ImportFrom) and node.level), f"{name}: relative import"
    assert not wrong, "\n".join(wrong)


def test_no_module_over_600_lines():
    long = {name: n for name, path in _modules() if (n := len(path.read_text().splitlines())) > 600}
    assert not long, long


def test_display_needs_no_widgets():
    code = ("import sys, s2label.display.overlays, s2label.display.locate, s2label.display.detail; "
            "print(','.join(m for m in ('ipywidgets', 'ipyleaflet', 'bqplot') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("old, name, new", [
    ("s2label.evaluate", "load_reference", "s2label.evaluation.measures"),
    ("s2label.datasets", "sample_scene_path", "s2label.io.datasets"),
    ("s2label.compare", "compare_methods", "s2label.evaluation.compare"),
    ("s2label.windowed", "pool_tiles", "s2label.encoders.pooled"),   # a split module: any of its new homes
    ("s2label.windowed", "segment_tiles", "s2label.segmentation.stitch"),
    ("s2label.encode.cnn", "CNNConfig", "s2label.encoders.cnn"),
    ("s2label.widget.overlays", "colour_segments", "s2label.display.overlays"),
])
def test_old_module_paths_still_import_with_a_future_warning(old, name, new):
    sys.modules.pop(old, None)
    parent = old.rpartition(".")[0]
    if parent != "s2label":
        with warnings.catch_warnings():  # an old parent path warns too, once: not the warning tested here
            warnings.simplefilter("ignore", FutureWarning)
            importlib.import_module(parent)
    with pytest.warns(FutureWarning, match=f"{old} moved to"):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        module.nothing_here  # noqa: B018


def test_old_top_level_names_still_work_with_a_future_warning():
    from s2label.errors import SessionError
    from s2label.io.datasets import sample_scene_path

    with pytest.warns(FutureWarning, match="s2label.sample_scene_path moved to s2label.io.datasets"):
        assert s2label.sample_scene_path is sample_scene_path
    with pytest.warns(FutureWarning):
        assert s2label.SessionError is SessionError
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s2label.cluster.__module__ == "s2label.clustering.clusterer"   # the function, not a module
        assert "sample_scene_path" not in dir(s2label)
    with pytest.raises(AttributeError):
        s2label.no_such_name  # noqa: B018
