"""The rules of a labelling session's edits: each edit of the log applied to an immutable state, purely.

:class:`EditRules` knows the cluster hierarchy and the number of segments; :meth:`EditRules.apply` takes a
:class:`SessionState` and one edit (a JSON object such as ``{"op": "rename", "label": 3, "name": "water"}``)
and returns the next state, or raises :class:`~s2label.errors.SessionError` before anything changes. Nothing
here stores, observes or saves: :class:`~s2label.session.LabelSession` does that.

Examples
--------
>>> import numpy as np
>>> from s2label.clustering.hierarchy import ClusterHierarchy
>>> rules = EditRules(ClusterHierarchy.flat_from_labels(np.array([0, 0, 1, -1])))
>>> state = rules.apply(rules.initial_state(), {"op": "rename", "label": 1, "name": "water"})
>>> [(lab.id, lab.name, lab.edited) for lab in state.labels]
[(0, 'cluster 0', False), (1, 'water', True)]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from s2label.clustering.hierarchy import ClusterHierarchy
from s2label.display.colours import is_hex_colour, palette, to_hex
from s2label.errors import SessionError
from s2label.segmentation.export import NOISE

__all__ = ["Label", "SessionState", "EditRules", "UNLABELLED", "SOURCES", "MAX_NAME_LENGTH", "clean_name", "as_int"]

#: Label id of segments in no label (HDBSCAN's noise at the start; noise in the exported files).
UNLABELLED = NOISE
_AUTO = -3  # no hand assignment: the segment follows the hierarchy
MAX_NAME_LENGTH = 120
SOURCES = ("cluster", "manual", "similar", "polygon")
#: How much a segment of a cluster the researcher named counts in a propagation (a hand label counts 1).
WEAK_EXAMPLE = 0.3
_DEFAULT_NAME = re.compile(r"^cluster \d+( \(\d+\))?$")


@dataclass(frozen=True)
class Label:
    """One label of a session (immutable; edits make new ones).

    Attributes
    ----------
    id : int
        Stable id, never reused (HDBSCAN cluster ``k`` starts as label ``k``).
    name : str
    colour : str
        ``"#rrggbb"``.
    nodes : tuple of int
        Hierarchy nodes whose segments belong to the label (empty for a label made by hand).
    hidden : bool
        Hidden from the map (still exported, with ``hidden: true``).
    source : str
        How the label was made: ``"cluster"``, ``"manual"``, ``"similar"`` or ``"polygon"``.
    details : dict
        Provenance (the clusters merged in, the examples and threshold of a find-similar label, ...).
    edited : bool
        The researcher has renamed, recoloured, hidden, merged or assigned segments to it: a re-cut of the
        hierarchy (:meth:`LabelSession.recut`) keeps it exactly as it is.
    """

    id: int
    name: str
    colour: str
    nodes: tuple[int, ...] = ()
    hidden: bool = False
    source: str = "cluster"
    details: Mapping[str, Any] = field(default_factory=dict)
    edited: bool = False

    @property
    def named(self) -> bool:
        """Whether the name was given by the researcher (not an automatic ``"cluster k"``)."""
        return not _DEFAULT_NAME.match(self.name)


@dataclass(frozen=True)
class SessionState:
    """Everything the labels are derived from after some edits: labels, the hierarchy cut, hand assignments."""

    labels: tuple[Label, ...]
    cut: tuple[int, ...]
    level: int | None
    overrides: tuple[tuple[np.ndarray, int], ...]  # (segment rows, label id), later entries win
    alias: Mapping[int, int]  # label id removed by a merge/delete/recut -> where its hand assignments go
    next_id: int
    #: after a propagation: (N,) label id (or _AUTO), probability and margin (best minus second share) per row
    predicted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    #: pixel-exact polygons: (flat pixel indices into the grid, label id), later entries win
    pixel_overrides: tuple[tuple[np.ndarray, int], ...] = ()


def clean_name(name: object) -> str:
    """A label (or annotator) name as it is kept: Unicode NFC, runs of white space made one space, trimmed.

    Parameters
    ----------
    name : object
        The name given.

    Returns
    -------
    str
        At most :data:`MAX_NAME_LENGTH` characters.

    Raises
    ------
    SessionError
        Not text, empty, too long, or holding control characters.
    """
    if not isinstance(name, str):
        raise SessionError(f"a label name must be text, got {type(name).__name__}")
    text = " ".join(unicodedata.normalize("NFC", name).split())
    if not text:
        raise SessionError("a label name cannot be empty")
    if len(text) > MAX_NAME_LENGTH:
        raise SessionError(f"a label name can have at most {MAX_NAME_LENGTH} characters, got {len(text)}")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise SessionError("a label name cannot contain control characters")
    return text


def as_int(value: object, what: str) -> int:
    """``value`` as an ``int``, refusing anything but Python and NumPy integers (``bool`` too).

    Parameters
    ----------
    value : object
        E.g. a label id read from an edit.
    what : str
        What the value is, for the error message (``"a label id"``).

    Returns
    -------
    int

    Raises
    ------
    SessionError
        ``value`` is not an integer.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SessionError(f"{what} must be an integer, got {value!r}")
    return int(value)




class EditRules:
    """How edits change a :class:`SessionState`, over one cluster hierarchy of ``hierarchy.point_node.size``
    segments (segment ``i + 1`` is point ``i``).

    Parameters
    ----------
    hierarchy : ClusterHierarchy
    """

    def __init__(self, hierarchy: ClusterHierarchy, *,
                 evidence: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
                 pixels: Callable[[Mapping[str, Any]], np.ndarray] | None = None) -> None:
        self.hierarchy = hierarchy
        self.n = int(hierarchy.point_node.size)
        self.node_cluster = {node: k for k, node in enumerate(hierarchy.selected)}
        self.evidence = evidence  # () -> (edge_index, edge_weight, space) for propagation
        self.pixels = pixels  # GeoJSON geometry (scene CRS) -> flat indices of the pixels inside, or SessionError
        self._assign_cache: dict[tuple[int, ...], np.ndarray] = {}

    # --- deriving per-segment labels ------------------------------------------------------------------

    def automatic(self, cut: tuple[int, ...]) -> np.ndarray:
        """(N,) position in ``cut`` of each segment's cluster node (``-1`` above the cut), cached."""
        if cut not in self._assign_cache:
            if len(self._assign_cache) > 16:
                self._assign_cache.clear()
            self._assign_cache[cut] = self.hierarchy.assign(cut)
        return self._assign_cache[cut]

    def cluster_labels(self, state: SessionState) -> np.ndarray:
        """(N,) label id of each segment from the hierarchy cut alone (``-1`` unlabelled)."""
        member_label = np.full(len(state.cut) + 1, UNLABELLED, np.int64)  # last slot: above the cut -> -1
        position = {node: i for i, node in enumerate(state.cut)}
        for lab in state.labels:
            for node in lab.nodes:
                member_label[position[node]] = lab.id
        return member_label[self.automatic(state.cut)]

    @staticmethod
    def _resolve(state: SessionState, ids: np.ndarray) -> np.ndarray:
        """Label ids through the merges/deletes since they were given (``_AUTO`` stays ``_AUTO``)."""
        if not state.alias:
            return ids
        lut = np.arange(-3, state.next_id, dtype=np.int64)  # value v at index v + 3
        for old, new in state.alias.items():
            while new in state.alias:  # a chain of merges
                new = state.alias[new]
            lut[old + 3] = new
        return lut[ids + 3]

    def hand_labels(self, state: SessionState) -> np.ndarray:
        """(N,) label id set by hand for each segment (resolved through merges), ``_AUTO`` where none."""
        manual = np.full(self.n, _AUTO, np.int64)
        for rows, target in state.overrides:
            manual[rows] = target
        return self._resolve(state, manual)

    def predicted_labels(self, state: SessionState) -> np.ndarray:
        """(N,) label id a propagation gave each segment (resolved), ``_AUTO`` where none."""
        if state.predicted is None:
            return np.full(self.n, _AUTO, np.int64)
        return self._resolve(state, state.predicted[0])

    def pixel_labels(self, state: SessionState) -> list[tuple[np.ndarray, int]]:
        """The pixel-exact polygons in order, as (flat pixel indices, label id resolved through merges; ``-1``
        after its label was deleted)."""
        if not state.pixel_overrides:
            return []
        ids = self._resolve(state, np.array([lid for _, lid in state.pixel_overrides], np.int64))
        return [(px, int(lid)) for (px, _), lid in zip(state.pixel_overrides, ids, strict=True) if lid != _AUTO]

    def derive(self, state: SessionState) -> np.ndarray:
        """(N,) label id per segment: by hand, else predicted by a propagation, else the hierarchy cut."""
        out = self.cluster_labels(state)
        if state.predicted is not None:
            predicted = self.predicted_labels(state)
            out = np.where(predicted == _AUTO, out, predicted)
        if state.overrides:
            manual = self.hand_labels(state)
            out = np.where(manual == _AUTO, out, manual)
        out.setflags(write=False)
        return out

    def initial_state(self) -> SessionState:
        """HDBSCAN's own clusters, label ``k`` = cluster ``k``."""
        colours = palette(len(self.hierarchy.selected))
        labels = tuple(Label(k, f"cluster {k}", to_hex(colours[k]), (node,))
                       for k, node in enumerate(self.hierarchy.selected))
        return SessionState(labels, tuple(self.hierarchy.selected), None, (), {}, len(labels))

    def rows(self, segment_ids: Iterable[object]) -> np.ndarray:
        ids = np.asarray(list(segment_ids) if not isinstance(segment_ids, np.ndarray) else segment_ids)
        if ids.size == 0:
            return np.zeros(0, np.int64)
        if ids.dtype.kind not in "iu":
            raise SessionError("segment ids must be integers")
        bad = ids[(ids < 1) | (ids > self.n)]
        if bad.size:
            raise SessionError(f"there is no segment {int(bad[0])} (segments are 1..{self.n})")
        return np.unique(ids.astype(np.int64)) - 1

    def apply(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        if not isinstance(edit, Mapping) or not isinstance(edit.get("op"), str):
            raise SessionError(f"an edit must be an object with an 'op', got {edit!r:.80}")
        handler = _HANDLERS.get(edit["op"])
        if handler is None:
            raise SessionError(f"unknown edit {edit['op']!r:.40}")
        return handler(self, state, edit)

    def _find(self, state: SessionState, label_id: object) -> int:
        lid = as_int(label_id, "a label id")
        for i, lab in enumerate(state.labels):
            if lab.id == lid:
                return i
        raise SessionError(f"there is no label {lid}")

    def _unique_name(self, state: SessionState, name: object, *, ignore: Iterable[int] = ()) -> str:
        text = clean_name(name)
        skip = set(ignore)
        for lab in state.labels:
            if lab.id not in skip and lab.name.casefold() == text.casefold():
                raise SessionError(f"the name {text!r} is already used by label {lab.id}")
        return text

    def _default_name(self, state: SessionState, label_id: int, used: Iterable[Label] = ()) -> str:
        taken = {lab.name.casefold() for lab in (*state.labels, *used)}
        name, i = f"cluster {label_id}", 2
        while name.casefold() in taken:
            name, i = f"cluster {label_id} ({i})", i + 1
        return name

    def _op_rename(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        i = self._find(state, edit.get("label"))
        name = self._unique_name(state, edit.get("name"), ignore=[state.labels[i].id])
        return _replace_label(state, i, replace(state.labels[i], name=name, edited=True))

    def _op_colour(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        i = self._find(state, edit.get("label"))
        if not is_hex_colour(edit.get("colour")):
            raise SessionError(f"a colour must look like '#1f77b4', got {edit.get('colour')!r:.40}")
        return _replace_label(state, i, replace(state.labels[i], colour=str(edit["colour"]).lower(), edited=True))

    def _op_hide(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        ids = edit.get("labels")
        if not isinstance(ids, list) or not ids:
            raise SessionError("hide needs a non-empty list of label ids")
        hidden = edit.get("hidden")
        if not isinstance(hidden, bool):
            raise SessionError("hide needs 'hidden': true or false")
        labels = list(state.labels)
        for lid in ids:
            i = self._find(state, lid)
            labels[i] = replace(labels[i], hidden=hidden, edited=True)
        return replace(state, labels=tuple(labels))

    def _op_merge(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        ids = edit.get("labels")
        if not isinstance(ids, list):
            raise SessionError("merge needs a list of label ids")
        positions = [self._find(state, lid) for lid in ids]
        if len(set(positions)) < 2:
            raise SessionError("merge needs at least two different labels (a label cannot merge with itself)")
        if len(set(positions)) != len(positions):
            raise SessionError("a label appears twice in the merge")
        keep = state.labels[positions[0]]
        others = [state.labels[i] for i in positions[1:]]
        if edit.get("name") is None:  # the first name the researcher gave, else the first label's
            name = next((lab.name for lab in (keep, *others) if lab.named), keep.name)
        else:
            name = self._unique_name(state, edit["name"], ignore=[keep.id, *(o.id for o in others)])
        merged_from = [*keep.details.get("merged_from", [keep.id]), *(o.id for o in others)]
        sources = {keep.source, *(o.source for o in others)}
        merged = replace(keep, name=name, nodes=tuple(sorted({*keep.nodes, *(n for o in others for n in o.nodes)})),
                         source=keep.source if len(sources) == 1 else "cluster",
                         details={**keep.details, "merged_from": merged_from}, edited=True)
        drop = {o.id for o in others}
        labels = tuple(merged if lab.id == keep.id else lab for lab in state.labels if lab.id not in drop)
        return replace(state, labels=labels, alias={**state.alias, **{d: keep.id for d in drop}})

    def _op_split(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        i = self._find(state, edit.get("label"))
        lab = state.labels[i]
        if self.hierarchy.flat:
            raise SessionError("this clustering was assigned with a saved model: its segments have no "
                               "hierarchy to split along (re-run without --model to get one)")
        if not lab.nodes:
            raise SessionError(f"label {lab.id} was made by hand and has no clusters to split")
        parts: list[tuple[int, ...]] = []
        for node in lab.nodes:
            children = self.hierarchy.children(node)
            parts.extend([(c,) for c in children] or [(node,)])
        if len(parts) < 2:
            raise SessionError(f"label {lab.id} is a leaf of the HDBSCAN hierarchy: it cannot be split further")
        cut = tuple(n for n in state.cut if n not in lab.nodes) + tuple(n for p in parts for n in p)
        colours = palette(state.next_id + len(parts))
        new = [replace(lab, nodes=parts[0], details={**lab.details, "split_from": lab.id})]
        for k, nodes in enumerate(parts[1:]):
            lid = state.next_id + k
            new.append(Label(lid, self._default_name(state, lid, new), to_hex(colours[lid]), nodes,
                             lab.hidden, "cluster", {"split_from": lab.id}, lab.edited))
        labels = (*state.labels[:i], *new, *state.labels[i + 1:])
        return replace(state, labels=labels, cut=cut, next_id=state.next_id + len(parts) - 1)

    def _level_cut(self, level: object) -> tuple[int, ...]:
        if level is None:
            return tuple(self.hierarchy.selected)
        level = as_int(level, "a granularity level")
        if self.hierarchy.flat:
            raise SessionError("this clustering was assigned with a saved model: its hierarchy cannot be "
                               "re-cut (re-run without --model to get one)")
        return self.hierarchy.level_cut(level)

    @staticmethod
    def kept_nodes(state: SessionState) -> tuple[int, ...]:
        return tuple(n for lab in state.labels if lab.edited for n in lab.nodes)

    def _op_recut(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        level = edit.get("level")
        cut = self.hierarchy.cut_keeping(self._level_cut(level), self.kept_nodes(state))
        if level is not None:
            level = int(level)
        members = set(cut)
        kept: list[Label] = []
        alias = dict(state.alias)
        for lab in state.labels:
            if lab.edited or not lab.nodes or set(lab.nodes) <= members:  # the researcher's labels stay whole
                kept.append(lab)
            else:
                alias[lab.id] = _AUTO  # its hand assignments fall back to the new automatic labels
        claimed = {n for lab in kept for n in lab.nodes}
        next_id = state.next_id
        colours = palette(next_id + len(cut))
        for node in cut:
            if node in claimed:
                continue
            original = self.node_cluster.get(node)
            if (original is not None and all(lab.id != original for lab in kept)
                    and alias.get(original, _AUTO) == _AUTO):
                lid = original  # HDBSCAN's own cluster is back: it gets its first id (and hand assignments) back
                alias.pop(original, None)
            else:
                lid, next_id = next_id, next_id + 1
            kept.append(Label(lid, self._default_name(state, lid, kept), to_hex(colours[lid]), (node,)))
        return replace(state, labels=tuple(kept), cut=cut, level=level, alias=alias, next_id=next_id)

    def _op_assign(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        rows = self._edit_rows(edit)
        target = as_int(edit.get("label"), "a label id")
        if not isinstance(edit.get("how", "manual"), str):
            raise SessionError("'how' must be text")
        if target != UNLABELLED:
            i = self._find(state, target)
            state = _replace_label(state, i, replace(state.labels[i], edited=True))
        return replace(state, overrides=(*state.overrides, (rows, target)))

    def _op_create(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        name = self._unique_name(state, edit.get("name"))
        rows = self._edit_rows(edit)
        source = edit.get("source", "manual")
        if source not in SOURCES[1:]:
            raise SessionError(f"a new label's source must be one of {SOURCES[1:]}, got {source!r:.40}")
        colour = edit.get("colour")
        if colour is None:
            colour = to_hex(palette(state.next_id + 1)[state.next_id])
        elif not is_hex_colour(colour):
            raise SessionError(f"a colour must look like '#1f77b4', got {colour!r:.40}")
        details = edit.get("details") or {}
        if not isinstance(details, Mapping):
            raise SessionError("'details' must be an object")
        lab = Label(state.next_id, name, str(colour).lower(), (), False, str(source), dict(details), True)
        overrides = (*state.overrides, (rows, lab.id)) if rows.size else state.overrides
        return replace(state, labels=(*state.labels, lab), overrides=overrides, next_id=state.next_id + 1)

    def _op_propagate(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        """Spread the researcher's labels: hand labels as strong examples, named or merged clusters as weak
        ones (:data:`WEAK_EXAMPLE`), unnamed clusters as none (:func:`s2label.session.propagate.propagate_labels`)."""
        from s2label.session.propagate import propagate_labels

        if self.evidence is None:
            raise SessionError("this session has no segment graph to propagate over")
        options = {}
        for key, default in (("alpha", 0.9), ("k", 10), ("spatial", 0.5)):
            value = edit.get(key, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SessionError(f"propagate: {key} must be a number, got {value!r:.40}")
            options[key] = value
        hand = self.hand_labels(state)
        clusters = self.cluster_labels(state)
        weak_ids = [lab.id for lab in state.labels if lab.nodes and (lab.named or "merged_from" in lab.details)]
        strong = hand >= 0
        weak = (hand == _AUTO) & np.isin(clusters, weak_ids)
        target = np.where(strong, hand, np.where(weak, clusters, -1))
        ids = np.unique(target[target >= 0])
        examples = np.where(target >= 0, np.searchsorted(ids, target), -1)
        weights = np.where(strong, 1.0, np.where(weak, WEAK_EXAMPLE, 0.0))
        edge_index, edge_weight, space = self.evidence()
        result = propagate_labels(edge_index, edge_weight, space, examples, weights, alpha=float(options["alpha"]),
                                  k=int(options["k"]), spatial=float(options["spatial"]))
        predicted = np.where(result.labels >= 0, ids[np.maximum(result.labels, 0)], _AUTO).astype(np.int64)
        predicted.setflags(write=False)
        for array in (result.probabilities, result.margins):
            array.setflags(write=False)
        return replace(state, predicted=(predicted, result.probabilities, result.margins))

    def _op_assign_pixels(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        """A pixel-exact polygon: the pixels whose centres lie inside go to the label, whatever their segment."""
        if self.pixels is None:
            raise SessionError("this session has no pixel grid for pixel-exact polygons")
        target = as_int(edit.get("label"), "a label id")
        geometry = edit.get("geometry")
        if not isinstance(geometry, Mapping):
            raise SessionError("assign_pixels needs a GeoJSON 'geometry' (Polygon or MultiPolygon, scene CRS)")
        pixels = self.pixels(geometry)  # raises SessionError for a polygon outside the scene, invalid or empty
        pixels.setflags(write=False)
        if target != UNLABELLED:
            i = self._find(state, target)
            state = _replace_label(state, i, replace(state.labels[i], edited=True))
        return replace(state, pixel_overrides=(*state.pixel_overrides, (pixels, target)))

    def _op_delete(self, state: SessionState, edit: Mapping[str, Any]) -> SessionState:
        i = self._find(state, edit.get("label"))
        lab = state.labels[i]
        return replace(state, labels=state.labels[:i] + state.labels[i + 1:],
                       alias={**state.alias, lab.id: UNLABELLED})

    def _edit_rows(self, edit: Mapping[str, Any]) -> np.ndarray:
        segments = edit.get("segments")
        if not isinstance(segments, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                                      for s in segments):
            raise SessionError("'segments' must be a list of segment ids")
        return self.rows(np.asarray(segments, dtype=np.int64))



_HANDLERS: dict[str, Callable[[EditRules, SessionState, Mapping[str, Any]], SessionState]] = {
    "rename": EditRules._op_rename, "colour": EditRules._op_colour, "hide": EditRules._op_hide,
    "merge": EditRules._op_merge, "split": EditRules._op_split, "recut": EditRules._op_recut,
    "assign": EditRules._op_assign, "create": EditRules._op_create, "delete": EditRules._op_delete,
    "propagate": EditRules._op_propagate, "assign_pixels": EditRules._op_assign_pixels,
}


def _replace_label(state: SessionState, i: int, label: Label) -> SessionState:
    return replace(state, labels=(*state.labels[:i], label, *state.labels[i + 1:]))
