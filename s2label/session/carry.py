"""Carry a researcher's edits from one clustering of a scene's segments to another of the same segments.

The explorer first shows the spectral clusters (the first look) and swaps in the learned ones when they are
ready (:mod:`s2label.pipeline.first_look`). Both cluster the same segments, so what the researcher did on the
first carries over to the second as edits of a fresh session:

- every segment set by hand keeps its label (or stays unlabelled, if unlabelled by hand);
- every pixel-exact polygon keeps its pixels and its label;
- every label the researcher touched (named, recoloured, hidden, merged, or given segments) takes the new
  clusters whose pixels lie mostly (more than half) in it, merged into one label with its name (and its colour,
  if the researcher chose one: otherwise the new cluster's, so that no two labels share a colour);
  one that takes none takes the new cluster it overlaps most, unless another label took it (then it is made
  anew, with its hand-set segments);
- labels made by hand (a find-similar or polygon label) are made again, with their segments.

Propagations are not carried (their predictions came from the old embeddings): propagate again on the new
clusters. Labels left as HDBSCAN made them are simply replaced by the new clusters.

Examples
--------
>>> import s2label
>>> from s2label.session.label_session import LabelSession
>>> scene = s2label.sample_scene(window=((600, 728), (600, 728)))
>>> seg = s2label.segment(scene, segment_size=100)
>>> emb = s2label.embed(scene, seg, s2label.build_graph(seg), encoder="spectral")
>>> old = LabelSession(seg, emb, s2label.cluster(emb, reduce="pca", min_cluster_size=5))
>>> new = LabelSession(seg, emb, s2label.cluster(emb, reduce="pca", min_cluster_size=10))
>>> water = old.labels[0].id
>>> old.rename(water, "water"); old.assign([1, 2], water)
>>> carried = carry_over(old, new)
>>> new.label(carried.labels[water]).name, {new.label_of(s) for s in (1, 2)} == {carried.labels[water]}
('water', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from s2label.errors import SessionError
from s2label.session.rules import UNLABELLED, Label

if TYPE_CHECKING:
    from s2label.session.label_session import LabelSession

__all__ = ["CarriedEdits", "carry_over"]

#: A new cluster goes to the touched label holding more than this share of its pixels.
MAJORITY = 0.5


@dataclass(frozen=True)
class CarriedEdits:
    """What :func:`carry_over` did.

    Attributes
    ----------
    labels : mapping of int to int
        Old label id → its label in the new session.
    clusters : mapping of int to tuple of int
        Old label id → the new clusters it took (empty for one made anew).
    overlap : mapping of int to float
        Old label id → the share of its cluster-made pixels that lie in the clusters it took.
    made_anew : tuple of int
        Old labels made again in the new session with their hand-set segments only (made by hand, or whose
        clusters went to other labels).
    segments : int
        Segments set by hand, carried.
    pixel_polygons : int
        Pixel-exact polygons carried.
    propagations : int
        Propagations of the old session, not carried.
    """

    labels: Mapping[int, int] = field(default_factory=dict)
    clusters: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    overlap: Mapping[int, float] = field(default_factory=dict)
    made_anew: tuple[int, ...] = ()
    segments: int = 0
    pixel_polygons: int = 0
    propagations: int = 0

    def summary(self) -> str:
        """One line for the researcher."""
        parts = [f"{len(self.labels)} label(s)", f"{self.segments} segment(s) set by hand"]
        if self.pixel_polygons:
            parts.append(f"{self.pixel_polygons} pixel-exact polygon(s)")
        text = "carried over " + ", ".join(parts)
        if self.made_anew:
            text += f"; {len(self.made_anew)} label(s) matched no new cluster and keep only their hand-set segments"
        if self.propagations:
            text += f"; {self.propagations} propagation(s) not carried: propagate again"
        return text


def _touched(label: Label) -> bool:
    return label.edited or label.named or label.source != "cluster"


def carry_over(old: LabelSession, new: LabelSession) -> CarriedEdits:
    """Make the edits of ``old`` in ``new``, a session without edits over the same segments (module docstring).

    Parameters
    ----------
    old : LabelSession
        The session edited so far.
    new : LabelSession
        A session over another clustering of the same segmentation, with no edits yet; each carried edit is one
        edit of it (one transaction of its store).

    Returns
    -------
    CarriedEdits

    Raises
    ------
    SessionError
        Sessions over different segments, or a ``new`` session that has edits already.
    """
    if old.segmentation.shape != new.segmentation.shape or not np.array_equal(old.segmentation.ids,
                                                                              new.segmentation.ids):
        raise SessionError("the two sessions are over different segments: their edits cannot be carried over")
    if new.edits:
        raise SessionError(f"the new session has {len(new.edits)} edit(s) already: nothing is carried into it")
    areas = old.segmentation.areas().astype(np.float64)  # (N,) pixels per segment
    before = old.label_of_segment()
    manual = old.manual_rows()
    touched = [lab for lab in old.labels if _touched(lab)]
    automatic = {lab.id: (before == lab.id) & ~manual for lab in touched if lab.nodes}
    # each new cluster goes to the label holding most of its pixels, if a touched label holds more than half
    after = new.label_of_segment()
    taken: dict[int, list[int]] = {lab.id: [] for lab in touched}
    claimed: set[int] = set()
    for target in new.labels:
        rows = after == target.id
        total = areas[rows].sum()
        best = max(automatic, key=lambda k: areas[rows & automatic[k]].sum(), default=None)
        if best is not None and total > 0 and areas[rows & automatic[best]].sum() > MAJORITY * total:
            taken[best].append(target.id)
            claimed.add(target.id)
    for lid, rows in automatic.items():  # none by majority: the one it overlaps most, if free
        if not taken[lid] and rows.any():
            share = {t.id: areas[rows & (after == t.id)].sum() for t in new.labels if t.id not in claimed}
            best = max(share, key=share.__getitem__, default=None)
            if best is not None and share[best] > 0:
                taken[lid].append(best)
                claimed.add(best)
    recoloured = _recoloured(old)
    mapping: dict[int, int] = {}
    overlap: dict[int, float] = {}
    anew: list[int] = []
    for lab in touched:
        clusters = taken[lab.id]
        if clusters:
            target = clusters[0] if len(clusters) == 1 else new.merge(clusters)
            if lab.named and new.label(target).name != lab.name:
                new.rename(target, lab.name)
            if lab.id in recoloured and new.label(target).colour != lab.colour:
                new.set_colour(target, lab.colour)
            rows = automatic.get(lab.id)
            if rows is not None and rows.any():
                inside = np.isin(after, clusters) & rows
                overlap[lab.id] = float(areas[inside].sum() / areas[rows].sum())
        else:
            target = new.create_label(lab.name, colour=lab.colour, details=dict(lab.details),
                                      source=lab.source if lab.source != "cluster" else "manual")
            anew.append(lab.id)
        if lab.hidden:
            new.hide(target)
        mapping[lab.id] = target
    # hand-set segments, label by label (unlabelled by hand: unlabelled again)
    segment_ids = np.asarray(old.segmentation.segment_ids)
    carried = 0
    for lid in sorted({int(x) for x in np.unique(before[manual])}):
        rows = manual & (before == lid)
        target = UNLABELLED if lid == UNLABELLED else mapping[lid]
        new.assign(segment_ids[rows].tolist(), target)
        carried += int(rows.sum())
    polygons = _carry_pixel_polygons(old, new, mapping)
    propagations = sum(1 for edit in old.edits if edit.get("op") == "propagate")
    return CarriedEdits(labels=mapping, clusters={k: tuple(v) for k, v in taken.items()}, overlap=overlap,
                        made_anew=tuple(anew), segments=carried, pixel_polygons=polygons,
                        propagations=propagations)


def _recoloured(old: LabelSession) -> set[int]:
    """The labels of ``old`` whose colour the researcher chose (the others keep the new clusters' colours)."""
    ids = np.array([edit["label"] for edit in old.edits if edit.get("op") == "colour"], np.int64)
    return {int(k) for k in old._rules._resolve(old.state, ids)} if ids.size else set()


def _carry_pixel_polygons(old: LabelSession, new: LabelSession, mapping: Mapping[int, int]) -> int:
    """The pixel-exact polygons in force in ``old``, in order, to their labels' new ids."""
    geometries = [edit["geometry"] for edit in old.edits if edit.get("op") == "assign_pixels"]
    if not geometries:
        return 0
    state = old.state
    raw = np.array([lid for _, lid in state.pixel_overrides], np.int64)
    resolved = old._rules._resolve(state, raw)  # through merges; -1 after a delete
    live = {lab.id for lab in old.labels}
    n = 0
    for geometry, lid in zip(geometries, resolved, strict=True):
        lid = int(lid)
        if lid != UNLABELLED and lid not in live:
            continue  # its label was re-cut away: the polygon is not in force
        new.assign_pixels(geometry, UNLABELLED if lid == UNLABELLED else mapping[lid])
        n += 1
    return n
