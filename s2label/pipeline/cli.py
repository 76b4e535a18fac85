"""Command line: ``s2label run SCENE --out DIR``.

Errors print one line, ``s2label: error: <file>: <problem>``, and exit with status 1 (2 for usage errors);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from s2label._version import __version__
from s2label.errors import S2LabelError, S2LabelWarning

__all__ = ["main", "build_parser", "options_from_args", "CLI_OPTIONS", "GROUPS"]

EXIT_ERROR = 1
EXIT_INTERNAL = 3


def _floats(text: str, n: int, what: str) -> list[float]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if len(parts) != n:
        raise argparse.ArgumentTypeError(f"{what} needs {n} comma-separated numbers, got {text!r}")
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} needs numbers, got {text!r}") from None


def _window(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    r0, c0, h, w = (int(v) for v in _floats(text, 4, "--window"))
    return ((r0, r0 + h), (c0, c0 + w))


def _bbox(text: str) -> tuple[float, ...]:
    return tuple(_floats(text, 4, "--bbox"))


#: The groups of ``s2label run --help``, in order.
GROUPS: tuple[str, ...] = ("input", "segmentation", "encoder", "clustering", "output", "performance")

#: The command-line option of each :func:`s2label.run` / ``read_scene`` argument it reaches: error messages that
#: name the Python argument name the option too (a test reads them).
CLI_OPTIONS: dict[str, str] = {
    "bands": "--bands", "band_names": "--band-names", "window": "--window", "bbox": "--bbox",
    "bbox_crs": "--bbox-crs", "scale": "--scale", "offset": "--offset", "segment_size": "--segment-size",
    "compactness": "--compactness", "segmentation_method": "--segmentation", "encoder": "--encoder",
    "cnn_steps": "--cnn-steps", "precision": "--precision", "reduce": "--reduce",
    "min_cluster_size": "--min-cluster-size", "seed": "--seed", "device": "--device", "num_threads": "--threads",
    "tile_size": "--tile-size", "workers": "--workers", "gpkg": "--gpkg", "first_look": "--first-look",
}


def build_parser() -> argparse.ArgumentParser:
    """The ``s2label`` parser: ``s2label run``'s options in :data:`GROUPS`, each help saying its default.

    Returns
    -------
    argparse.ArgumentParser
        With the subcommand ``run`` (``args.command``).

    Examples
    --------
    >>> args = build_parser().parse_args(["run", "scene.tif", "--band-names", "B02,B03,B04,B08"])
    >>> args.band_names
    ['B02', 'B03', 'B04', 'B08']
    """
    parser = argparse.ArgumentParser(prog="s2label", description="Unsupervised labelling of Sentinel-2 scenes.")
    parser.add_argument("--version", action="version", version=f"s2label {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="segment, embed and cluster a scene; write rasters, GeoJSON and a report",
                         description="Run the pipeline on a scene and write segments.tif, clusters.tif, "
                                     "clusters.geojson, embeddings.npz and report.json into --out.")
    group = {name: run.add_argument_group(name) for name in GROUPS}

    read = group["input"]
    read.add_argument("scene", nargs="?", help="GeoTIFF/JP2 stack, folder of single-band files, .SAFE product, "
                      "or a STAC item (its JSON's path or URL)")
    read.add_argument("--sample", action="store_true",
                      help="use the bundled default scene (Virginia, L1C) instead of SCENE (default: off)")
    read.add_argument("--bands", type=_names, default=None, metavar="B02,B03,...",
                      help="read only these bands (default: all the scene has)")
    read.add_argument("--band-names", type=_names, default=None, metavar="B02,B03,...",
                      help="name a stack's bands in file order, where the file does not (a GeoTIFF without band "
                           "descriptions) (default: the file's descriptions)")
    read.add_argument("--window", type=_window, default=None, metavar="ROW,COL,HEIGHT,WIDTH",
                      help="read only this pixel window of the 10 m grid (default: the whole scene)")
    read.add_argument("--bbox", type=_bbox, default=None, metavar="MINX,MINY,MAXX,MAXY",
                      help="read only this box, in --bbox-crs (default: the whole scene)")
    read.add_argument("--bbox-crs", default=None, help="CRS of --bbox, e.g. EPSG:4326 (default: the scene's)")
    read.add_argument("--scale", type=float, default=None,
                      help="reflectance = (DN + offset) * scale (default: from the product or file)")
    read.add_argument("--offset", type=float, default=None,
                      help="additive DN offset, e.g. -1000 (default: from the product or file)")

    seg = group["segmentation"]
    seg.add_argument("--segmentation", choices=("slic", "felzenszwalb"), default="slic",
                     help="superpixel method (default: %(default)s)")
    seg.add_argument("--segment-size", type=int, default=200, help="target segment size in px (default: %(default)s)")
    seg.add_argument("--compactness", type=float, default=0.1, help="SLIC compactness (default: %(default)s)")

    enc = group["encoder"]
    enc.add_argument("--encoder", choices=("cnn-gnn", "cnn", "spectral"), default="cnn-gnn",
                     help="segment encoder (default: %(default)s)")
    enc.add_argument("--model", type=Path, default=None, metavar="DIR",
                     help="reuse a saved model (DIR/model of an earlier run): no retraining, same clusters "
                          "(default: train on this scene)")
    enc.add_argument("--cnn-steps", type=int, default=None,
                     help="U-Net training steps, exactly (default: scaled with the scene, 100 to 300)")
    enc.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                     help="arithmetic of the U-Net's training; bfloat16 is faster on CPUs with AMX or AVX-512 "
                          "BF16 (default: %(default)s)")
    enc.add_argument("--seed", type=int, default=0, help="random seed of training and clustering "
                                                         "(default: %(default)s)")

    clu = group["clustering"]
    clu.add_argument("--reduce", choices=("umap", "pca", "none"), default="umap",
                     help="reduction before HDBSCAN (default: %(default)s)")
    clu.add_argument("--min-cluster-size", type=int, default=None,
                     help="HDBSCAN min_cluster_size (default: chosen from the number of segments)")

    out = group["output"]
    out.add_argument("--out", type=Path, default=None, help="output folder (default: ./s2label-output/<scene name>)")
    out.add_argument("--gpkg", action="store_true",
                     help="also write clusters.gpkg in the scene's CRS (default: off)")
    out.add_argument("--first-look", action=argparse.BooleanOptionalAction, default=None,
                     help="write the spectral clusters to OUT/spectral before training (default: on, off by tiles)")
    out.add_argument("--quiet", action="store_true", help="no progress bars (default: off)")
    out.add_argument("--debug", action="store_true", help="show tracebacks (default: off)")

    perf = group["performance"]
    perf.add_argument("--device", default="auto",
                      help="torch device: auto (CUDA when present), cpu, cuda (default: %(default)s)")
    perf.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    perf.add_argument("--tile-size", type=int, default=None, metavar="PX",
                      help="process a large scene by tiles of about PX px a side, memory following the tile "
                           "(default: the whole scene at once)")
    perf.add_argument("--window-size", type=int, default=None, dest="old_tile_size", help=argparse.SUPPRESS)
    perf.add_argument("--workers", type=int, default=None,
                      help="run the tile stages on a local Dask cluster of this many workers, implying tiles "
                           "(default: in this process)")
    return parser


def _names(text: str) -> list[str]:
    names = [b.strip() for b in text.split(",") if b.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"needs comma-separated band names such as B02,B03,B04,B08, got {text!r}")
    return names


def options_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~s2label.pipeline.options.RunOptions` of ``s2label run``'s arguments.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by :func:`build_parser` for ``s2label run``.

    Returns
    -------
    RunOptions
        The read options (``window``, ``bbox``, ``bands``...) that were given, and the run's settings.
    """
    from s2label.pipeline.options import RunOptions

    read_options: dict[str, Any] = {}
    for key in ("window", "bbox", "bbox_crs", "scale", "offset"):
        if getattr(args, key) is not None:
            read_options[key] = getattr(args, key)
    for key in ("bands", "band_names"):
        if getattr(args, key):
            read_options[key] = getattr(args, key)
    tile_size = args.tile_size
    if args.old_tile_size is not None:
        warnings.warn("--window-size is now --tile-size; the old option goes in s2label 0.3", S2LabelWarning,
                      stacklevel=2)
        tile_size = tile_size or args.old_tile_size
    return RunOptions.from_keywords(
        encoder=args.encoder, segment_size=args.segment_size, compactness=args.compactness,
        segmentation_method=args.segmentation, min_cluster_size=args.min_cluster_size, reduce=args.reduce,
        seed=args.seed, read_options=read_options,
        cnn=_cnn_config(args), device=args.device,
        num_threads=args.threads, gpkg=args.gpkg,
        first_look=args.first_look, progress=not args.quiet, tile_size=tile_size)


def _cnn_config(args: argparse.Namespace) -> Any:
    """The U-Net's settings of ``--cnn-steps`` (exact: not scaled with the scene) and ``--precision``."""
    from s2label.encoders.cnn import CNNConfig

    if args.cnn_steps is None and args.precision == "float32":
        return None
    exact = {"steps": args.cnn_steps, "passes": None} if args.cnn_steps is not None else {}
    return CNNConfig(**exact, precision=args.precision)


def _run(args: argparse.Namespace) -> int:
    from s2label.io.datasets import sample_scene_path
    from s2label.pipeline.run_folder import default_folder
    from s2label.pipeline.runner import run

    if args.sample == bool(args.scene):
        raise S2LabelError("give a SCENE or --sample (one of them)")
    options = options_from_args(args)  # checked before anything is read
    remote = not args.sample and "://" in args.scene  # a STAC item's URL: read as it is, never as a path
    scene: str | Path = sample_scene_path() if args.sample else (args.scene if remote else Path(args.scene))
    out = args.out or default_folder(scene, name="sample" if args.sample else None)
    result = run(scene, options, out=out, model=args.model, workers=args.workers)
    counts = result.report["counts"]
    seconds = sum(s["seconds"] for s in result.report["stages"].values())
    print(f"s2label: {counts['segments']} segments, {counts['clusters']} clusters "
          f"({counts['noise_fraction']:.1%} noise) in {seconds:.1f} s")
    print(f"s2label: outputs in {Path(out).resolve()}")
    return 0


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    if issubclass(category, S2LabelWarning):
        print(f"s2label: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``s2label`` command; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 for an error of s2label's (one line on stderr), 3 for an unexpected one, 130 when
        interrupted. Bad arguments exit through :mod:`argparse` (status 2).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    with warnings.catch_warnings():  # restores the filters and showwarning on exit
        warnings.simplefilter("default", S2LabelWarning)
        warnings.showwarning = _show_warning
        try:
            if args.command == "run":
                return _run(args)
        except S2LabelError as exc:
            if debug:
                traceback.print_exc()
            print(f"s2label: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            print("s2label: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:  # anything unexpected still gets one line without --debug
            if debug:
                traceback.print_exc()
            print(f"s2label: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                  file=sys.stderr)
            return EXIT_INTERNAL
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
