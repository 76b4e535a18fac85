"""Labelling effort: how many actions a simulated researcher needs to reach an accurate label map.

Run:  .venv/bin/python benchmarks/labelling.py [--encoder spectral|cnn|cnn-gnn] [--actions 200] [--plot PNG]

On ``../shared/data/aberystwyth`` (a real L2A scene with a 4-class map: Forest, Grass, Urban, Water; a
classifier's output, so noisy). The researcher holds the reference map and works only through the public
session API (:class:`s2label.session.LabelSession`):

- **name**: one action per cluster, largest first: it is renamed to its majority class, or, once a label of
  that class exists, merged into it (the merge itself is free: naming is the action);
- then one action per answer to :meth:`LabelSession.review_queue` (accept the label shown, or assign the
  true class: its majority reference class), **without** and **with** a propagation after every action,
  naming included (:meth:`LabelSession.propagate`).

Pixel accuracy of the label map (every pixel gets its segment's label's class; unlabelled counts wrong) after
0, 10, 20, 50, 100, 200 actions, and the actions needed for 85 / 90 / 95 %; for the strategy with propagation
also **with pixel precision** (``LabelSession.label_raster(precision="pixel")``, what ``export(...,
precision="pixel")`` writes: a pixel classifier trained on the confidently labelled segments re-decides every
pixel) at those counts. Beside it, always: the **pixel
baseline** of ilastik/IRIS (a random forest on the pixel's bands trained on N pixels labelled at random, one
action each, mean of 3 seeds) and the **segment ceiling** (every segment given its majority class).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

import s2label
from s2label.errors import SessionError
from s2label.evaluation.measures import load_reference
from s2label.session.label_session import LabelSession

ABER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aberystwyth"
CHECKPOINTS = (0, 10, 20, 50, 100, 200)
TARGETS = (0.85, 0.90, 0.95)
CLASSES = {1: "Forest", 2: "Grass", 3: "Urban", 4: "Water"}


class Researcher:
    """Holds the reference: each segment's pixel counts per class, and scores a session's label map."""

    def __init__(self, session: LabelSession, reference: np.ndarray) -> None:
        self.session = session
        self.reference = reference
        labels = session.segmentation.ids
        ok = (labels > 0) & (reference > 0)
        self.total = int(ok.sum())
        n, c = session.n_segments, int(reference.max()) + 1
        self.hist = np.bincount(labels[ok].astype(np.int64) * c + reference[ok], minlength=(n + 1) * c)
        self.hist = self.hist.reshape(n + 1, c)[1:]
        self.truth = np.argmax(self.hist, axis=1)  # majority class of each segment (0: no reference)
        self.ceiling = float(self.hist.max(axis=1).sum() / self.total)

    def class_of_labels(self) -> dict[int, int]:
        names = {name: k for k, name in CLASSES.items()}
        return {lab.id: names.get(lab.name, 0) for lab in self.session.labels}

    def pixel_accuracy(self) -> float:
        """Accuracy of the pixel-precise map (:meth:`LabelSession.label_raster` with ``precision="pixel"``)."""
        classes = self.class_of_labels()
        try:
            raster = self.session.label_raster(precision="pixel", progress=False)
        except SessionError:  # fewer than two labels so far: the segment map is all there is
            raster = self.session.label_raster()
        lut = np.zeros(max([*classes, 0]) + 3, np.int64)
        for lid, k in classes.items():
            lut[lid + 2] = k
        got = lut[raster + 2]  # unlabelled (-1) and outside (-2) -> class 0: wrong
        ok = self.reference > 0
        return float((got[ok] == self.reference[ok]).sum() / self.total)

    def accuracy(self) -> float:
        classes = self.class_of_labels()
        lut = np.zeros(max([*classes, 0]) + 2, np.int64)
        for lid, k in classes.items():
            lut[lid + 1] = k
        seg_class = lut[self.session.label_of_segment() + 1]  # unlabelled -> 0: wrong
        return float(self.hist[np.arange(self.hist.shape[0]), seg_class].sum() / self.total) if seg_class.size else 0.0

    def label_for(self, klass: int) -> int | None:
        for lab in self.session.labels:
            if lab.name == CLASSES.get(klass):
                return lab.id
        return None


def _propagate(session: LabelSession) -> None:
    try:
        session.propagate()
    except SessionError:  # one class named so far: nothing to tell apart yet
        pass


def simulate(session: LabelSession, reference: np.ndarray, *, actions: int, propagate: bool,
             pixel_at: tuple[int, ...] = ()) -> tuple[list[float], dict[int, float]]:
    """Accuracy after 0, 1, ..., ``actions`` actions: name the clusters, then answer the review queue; and the
    pixel-precise accuracy after each count of ``pixel_at``."""
    r = Researcher(session, reference)
    curve = [r.accuracy()]
    pixel: dict[int, float] = {}

    def record() -> None:
        curve.append(r.accuracy())
        if len(curve) - 1 in pixel_at:
            pixel[len(curve) - 1] = r.pixel_accuracy()

    if 0 in pixel_at:
        pixel[0] = r.pixel_accuracy()
    hdbscan = np.asarray(session.clustering.cluster)  # label k starts as cluster k
    clusters = sorted(session.labels, key=lambda lab: -session.counts()[lab.id])
    for lab in clusters:  # one action each, largest first
        if len(curve) > actions:
            return curve, pixel
        members = hdbscan == lab.id  # the cluster's own segments (a propagation may show others' labels there)
        klass = int(np.argmax(r.hist[members].sum(axis=0))) if members.any() else 0
        if klass == 0:
            continue
        existing = r.label_for(klass)
        if existing is None:
            session.rename(lab.id, CLASSES[klass])
        else:
            session.merge([existing, lab.id])  # naming it as a class already named merges it, for free
        if propagate:
            _propagate(session)
        record()
    seen: set[int] = set()
    while len(curve) <= actions:
        queue = [int(q) for q in session.review_queue(len(seen) + 5) if int(q) not in seen]
        if not queue:
            record()
            continue
        segment = queue[0]
        seen.add(segment)
        klass = int(r.truth[segment - 1])
        if klass == 0:
            continue
        target = r.label_for(klass)
        if target is None:
            session.create_label(CLASSES[klass], [segment])
        else:
            session.assign([segment], target, how="review")  # accept (same label) or correct: one action
        if propagate:
            _propagate(session)
        record()
    return curve, pixel


def pixel_baseline(scene: s2label.Scene, reference: np.ndarray, counts: tuple[int, ...], seeds=(0, 1, 2)) -> dict:
    """Random forest on the pixel's bands from N random pixels (mean accuracy over seeds)."""
    valid = scene.valid & (reference > 0)
    x = scene.data[:, valid].T
    y = reference[valid]
    out = {}
    for n in counts:
        scores = []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            pick = rng.choice(y.size, size=n, replace=False)
            if np.unique(y[pick]).size < 2:
                scores.append(float((y == y[pick][0]).mean()))
                continue
            forest = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=2).fit(x[pick], y[pick])
            scores.append(float((forest.predict(x) == y).mean()))
        out[n] = float(np.mean(scores))
    return out


def _reach(curve: list[float], target: float) -> str:
    hit = next((i for i, a in enumerate(curve) if a >= target), None)
    return "never" if hit is None else str(hit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default="spectral", choices=("spectral", "cnn", "cnn-gnn"))
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    if not (ABER / "sen2_20210527_aber_10band_mosaic.tif").is_file():
        raise SystemExit(f"{ABER} not found: this benchmark needs the reference scene")
    scene = s2label.read_scene(ABER / "sen2_20210527_aber_10band_mosaic.tif", scale=1e-3)
    reference = load_reference(ABER / "sen2_20210527_aber_cls_aligned.tif", scene)
    t0 = time.perf_counter()
    result = s2label.run(scene, encoder=args.encoder, seed=args.seed, progress=False)
    print(f"pipeline ({args.encoder}): {time.perf_counter() - t0:.0f} s, {result.segmentation.n_segments} segments, "
          f"{result.clustering.n_clusters} clusters")
    curves, pixel = {}, {}
    for name, propagate in (("name + review", False), ("name + review + propagate", True)):
        t0 = time.perf_counter()
        session = LabelSession(result.segmentation, result.embeddings, result.clustering, scene=scene)
        at = tuple(n for n in CHECKPOINTS if n <= args.actions) if propagate else ()
        curves[name], pixel[name] = simulate(session, reference, actions=args.actions, propagate=propagate,
                                             pixel_at=at)
        print(f"{name}: {time.perf_counter() - t0:.0f} s")
    ceiling = Researcher(LabelSession(result.segmentation, result.embeddings, result.clustering), reference).ceiling
    baseline = pixel_baseline(scene, reference, tuple(n for n in CHECKPOINTS if n > 0))
    header = "| strategy | " + " | ".join(f"{n} actions" for n in CHECKPOINTS) + " | to 85 / 90 / 95 % |"
    print(f"\n## Aberystwyth, encoder {args.encoder}, seed {args.seed}; segment ceiling {ceiling:.3f}\n")
    print(header)
    print("|---|" + "---:|" * (len(CHECKPOINTS) + 1))
    for name, curve in curves.items():
        cells = [f"{curve[n]:.3f}" if n < len(curve) else "" for n in CHECKPOINTS]
        print(f"| {name} | " + " | ".join(cells) + " | " + " / ".join(_reach(curve, t) for t in TARGETS) + " |")
        if pixel[name]:
            cells = [f"{pixel[name][n]:.3f}" if n in pixel[name] else "" for n in CHECKPOINTS]
            print(f"| {name} + pixel precision | " + " | ".join(cells) + " | |")
    cells = ["" if n == 0 else f"{baseline[n]:.3f}" for n in CHECKPOINTS]
    print("| pixel random forest, N random clicks (mean of 3 seeds) | " + " | ".join(cells) + " | |")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4))
        for name, curve in curves.items():
            line, = ax.plot(range(len(curve)), curve, label=name)
            if pixel[name]:
                ax.plot(list(pixel[name]), list(pixel[name].values()), "s-", color=line.get_color(), alpha=0.6,
                        label=f"{name} + pixel precision")
        ax.plot([n for n in CHECKPOINTS if n], [baseline[n] for n in CHECKPOINTS if n], "o--",
                label="pixel random forest (N clicks)")
        ax.axhline(ceiling, color="grey", ls=":", label=f"segment ceiling {ceiling:.3f}")
        ax.set_xlabel("actions")
        ax.set_ylabel("pixel accuracy")
        ax.set_title(f"Aberystwyth, {args.encoder}", fontsize="small")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
