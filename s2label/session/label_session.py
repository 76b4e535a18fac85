"""A labelling session: the user's edits over a clustering, with undo/redo and a restart-safe autosave.

A :class:`LabelSession` holds the segmentation, embeddings and clustering of a scene and the user's edits:
names, colours, merges, splits and re-cuts along the HDBSCAN hierarchy, hidden labels, segments assigned by
hand (a click, a drawn polygon) and find-similar selections turned into labels. Every edit is one JSON entry
of an edit log; the labels shown and exported are *derived* from the log (nothing is stored twice), undo and
redo move along it. Every edit is one transaction of the session store (SQLite, :mod:`s2label.session.store`),
so :meth:`LabelSession.load` resumes exactly where the user was after a kernel restart or a crash, and every
window on the same store sees the others' edits (:mod:`s2label.session.stored`). A store records a fingerprint
of the segmentation and clustering and is refused for another scene; ``session.json`` is the portable export
(:meth:`LabelSession.save`). User text is only ever stored and compared, never evaluated.

Labels
------
Each label has a stable id (never reused), a name, a colour, a hidden flag, and is made of *nodes* of the
cluster hierarchy (the automatic part; see :mod:`s2label.clustering.hierarchy`) plus segments assigned to it by hand,
which take precedence. At the start label ``k`` is HDBSCAN cluster ``k``. Segments in no label are
*unlabelled* (HDBSCAN's noise at the start; ``-1``).

Examples
--------
>>> import numpy as np, s2label
>>> from s2label.session.label_session import LabelSession
>>> scene = s2label.sample_scene(window=((600, 728), (600, 728)))
>>> seg = s2label.segment(scene, segment_size=100)
>>> emb = s2label.embed(scene, seg, s2label.build_graph(seg), encoder="spectral")
>>> session = LabelSession(seg, emb, s2label.cluster(emb, reduce="pca", min_cluster_size=5))
>>> first, second = session.labels[0].id, session.labels[1].id
>>> session.rename(first, "forest")
>>> session.merge([first, second])
0
>>> session.label(first).name, len(session.labels) == session.clustering.n_clusters - 1
('forest', True)
>>> session.undo(); session.undo()
>>> session.label(first).name
'cluster 0'
>>> options = session.granularity_options()   # labels per granularity level, the researcher's kept whole
>>> session.recut(1); len(session.labels) == options[1]
True
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from s2label._json import to_jsonable
from s2label._renamed import renamed_attribute
from s2label._version import __version__
from s2label.clustering.clusterer import Clustering
from s2label.clustering.hierarchy import ClusterHierarchy
from s2label.clustering.similar import SimilarityIndex
from s2label.encoders.embeddings import Embeddings
from s2label.encoders.spectral import index_bands
from s2label.errors import SessionError
from s2label.io.scene import Scene
from s2label.segmentation.export import LabelPolygons
from s2label.segmentation.superpixels import Segmentation
from s2label.session.annotators import Annotations, annotation, default_annotator
from s2label.session.chips import ChipExport
from s2label.session.describe import describe_edit
from s2label.session.export import export_labels, label_polygons, label_table
from s2label.session.file import FILE_FORMAT, FILE_VERSION, fingerprint
from s2label.session.pixels import PixelLabelling
from s2label.session.prepared import Outdated, PreparedEdit
from s2label.session.rules import UNLABELLED, EditRules, Label, SessionState, as_int, clean_name
from s2label.session.store import SessionStore
from s2label.session.stored import StoredSession, load_into, store_path_for
from s2label.session.suggestions import Suggestions

__all__ = ["LabelSession", "Label", "PreparedEdit", "UNLABELLED", "FILE_FORMAT", "FILE_VERSION"]

class LabelSession(StoredSession, PixelLabelling, Suggestions, Annotations):
    """The user's labels over one clustering: edits, undo/redo, autosave, export.

    Parameters
    ----------
    segmentation : Segmentation
    embeddings : Embeddings
        Used by :meth:`similar` (find similar segments by example).
    clustering : Clustering
        HDBSCAN result for the same segments (its condensed tree gives splits and re-cuts).
    autosave : str or os.PathLike, optional
        The session store (SQLite, e.g. ``run/session.sqlite``; :mod:`s2label.session.store`), every edit one
        transaction. A ``.json`` name (s2label's session file before the store) stands for the ``.sqlite``
        beside it. It must not exist yet (resume one with :meth:`load` or :meth:`open`). ``None`` keeps the
        session in memory only. Many sessions (windows, processes) may share one store and keep in step.
    spectra : ndarray (N, C), optional
        Mean reflectance per segment and band, shown when a segment is inspected.
    bands : sequence of str, optional
        Names of the columns of ``spectra``.
    scene : Scene, optional
        The reflectance the segments were cut from: pixel-precise labels (``precision="pixel"`` of
        :meth:`label_raster` and :meth:`export`) learn from its pixels; pixel-exact polygons skip its no-data.
    annotator : str, optional
        Who makes this session's edits (default: the operating-system user): recorded with each edit and its
        time (:attr:`annotations`), per label in the exports, and the key of :meth:`view_of`.

    Raises
    ------
    SessionError
        Inputs that do not describe the same segments; an autosave store that already exists.
    OutputError
        An autosave store that cannot be written (e.g. a read-only folder).
    """

    def __init__(self, segmentation: Segmentation, embeddings: Embeddings, clustering: Clustering, *,
                 autosave: str | os.PathLike[str] | None = None, spectra: np.ndarray | None = None,
                 bands: Sequence[str] = (), scene: Scene | None = None, annotator: str | None = None) -> None:
        n = clustering.cluster.size
        ids = np.asarray(clustering.segment_ids)
        if embeddings.n != n or not np.array_equal(np.asarray(embeddings.segment_ids), ids):
            raise SessionError(f"embeddings ({embeddings.n} segments) and clustering ({n}) describe different "
                               "segments")
        if segmentation.n_segments != n or not np.array_equal(ids, np.arange(1, n + 1)):
            raise SessionError(f"the segmentation has {segmentation.n_segments} segments, the clustering {n}: "
                               "they come from different runs")
        if scene is not None and scene.shape != segmentation.shape:
            raise SessionError(f"the scene ({scene.shape}) and the segmentation ({segmentation.shape}) are on "
                               "different grids")
        if spectra is not None and np.asarray(spectra).shape[0] != n:
            raise SessionError(f"spectra has {np.asarray(spectra).shape[0]} rows for {n} segments")
        self.segmentation = segmentation
        self.embeddings = embeddings
        self.clustering = clustering
        self.hierarchy = ClusterHierarchy.from_clustering(clustering)
        self.spectra = None if spectra is None else np.asarray(spectra, dtype=np.float32)
        self.bands = tuple(bands)
        self.scene = scene
        self.annotator = default_annotator() if annotator is None else clean_name(annotator)
        self._annotations: list[dict[str, Any]] = []  # who made each edit of the log, and when
        self.skipped = 0  # edits of other annotators' labels left out of a view (:meth:`view_of`)
        self.fingerprint = fingerprint(segmentation, clustering)
        # the edit log, the position and the caches change under it: a commit from a worker thread
        # (:meth:`commit_prepared`) and an edit from the main thread never interleave
        self._lock = threading.RLock()
        self._n = n
        self._areas = np.bincount(segmentation.ids.ravel(), minlength=n + 1)[1:]
        self._rules = EditRules(self.hierarchy, evidence=self._evidence, pixels=self._pixels_in)
        self._graph: tuple[np.ndarray, np.ndarray] | None = None
        self._node_cluster = self._rules.node_cluster
        self._edits: list[dict[str, Any]] = []
        self._seqs: list[int | None] = []
        self._revision = 0
        self._store: SessionStore | None = None
        self._states: list[SessionState] = [self._rules.initial_state()]
        self._position = 0
        self._level_cache: dict[tuple[int, ...], list[int]] = {}
        self._observers: list[Callable[[dict[str, Any]], None]] = []
        self._similarity: SimilarityIndex | None = None
        self._segment_labels = self._derive(self._states[0])
        self.autosave_path: Path | None = None
        if autosave is not None:
            for path in {Path(autosave), store_path_for(Path(autosave))}:
                if path.exists():
                    raise SessionError("already holds a session; resume it with LabelSession.load (or .open), or "
                                       "choose another file", path=path)
            store = SessionStore.create(store_path_for(Path(autosave)), self.fingerprint)  # fails now, clearly
            self._attach(store, store.read())

    # --- construction ---------------------------------------------------------------------------------

    @classmethod
    def from_result(cls, result: Any, *, autosave: str | os.PathLike[str] | None = None,
                    resume: bool = False, annotator: str | None = None) -> LabelSession:
        """A session over a :class:`~s2label.pipeline.runner.PipelineResult`, with mean spectra for inspection.

        With ``resume``, an existing ``autosave`` file is loaded (:meth:`open`) instead of refused.
        """
        mean = result.segment_spectra()
        bands = tuple(result.bands) or tuple(result.scene.bands)
        parts = (result.segmentation, result.embeddings, result.clustering)
        scene = getattr(result, "scene", None)
        if resume and autosave is not None:
            return cls.open(autosave, *parts, spectra=mean, bands=bands, scene=scene, annotator=annotator)
        return cls(*parts, autosave=autosave, spectra=mean, bands=bands, scene=scene, annotator=annotator)

    @classmethod
    def load(cls, path: str | os.PathLike[str], segmentation: Segmentation, embeddings: Embeddings,
             clustering: Clustering, *, autosave: bool = True, spectra: np.ndarray | None = None,
             bands: Sequence[str] = (), scene: Scene | None = None, annotator: str | None = None) -> LabelSession:
        """Resume the session saved in ``path`` (a session store, or a ``session.json``) over the same
        segmentation and clustering.

        The edit log is replayed (validated edit by edit) and the undo/redo position restored. With
        ``autosave``, later edits are written to the store, in step with every other session on it; a
        ``session.json`` (the portable file, or one from an s2label before the store) is migrated once into the
        store beside it (``session.sqlite``) and left as it was. ``autosave=False`` only reads (a read-only
        folder, a colleague's copy).

        Raises
        ------
        SessionError
            Missing, not a session, damaged, or from another scene or clustering; for a session file, the
            message says whether an intact backup (``.bak``) exists. The file is left untouched.
        OutputError
            ``autosave`` and the store or its folder cannot be written.
        """
        session = cls(segmentation, embeddings, clustering, spectra=spectra, bands=bands, scene=scene,
                      annotator=annotator)
        load_into(session, Path(path), autosave=autosave)
        return session

    @classmethod
    def open(cls, path: str | os.PathLike[str], segmentation: Segmentation, embeddings: Embeddings,
             clustering: Clustering, **kwargs: Any) -> LabelSession:
        """:meth:`load` ``path`` (or the store a ``.json`` name stands for) if it exists, else start a new
        session autosaving there."""
        if Path(path).exists() or store_path_for(Path(path)).exists():
            return cls.load(path, segmentation, embeddings, clustering, **kwargs)
        return cls(segmentation, embeddings, clustering, autosave=path, **kwargs)

    # --- reading the current labels -------------------------------------------------------------------

    @property
    def labels(self) -> tuple[Label, ...]:
        """The current labels, in panel order."""
        return self._states[self._position].labels

    def label(self, label_id: int) -> Label:
        """The label with id ``label_id`` (:class:`SessionError` if there is none)."""
        for lab in self.labels:
            if lab.id == label_id:
                return lab
        raise SessionError(f"there is no label {label_id}")

    def label_by_name(self, name: str) -> Label:
        key = clean_name(name).casefold()
        for lab in self.labels:
            if lab.name.casefold() == key:
                return lab
        raise SessionError(f"there is no label named {name!r}")

    @property
    def level(self) -> int | None:
        """Granularity level of the automatic labels (``None``: HDBSCAN's own selection)."""
        return self._states[self._position].level

    @property
    def n_segments(self) -> int:
        return self._n

    def label_of_segment(self) -> np.ndarray:
        """(N,) int64 label id of segment ``i + 1``; ``-1`` unlabelled. A read-only view."""
        return self._segment_labels

    segment_labels = renamed_attribute("label_of_segment", "LabelSession.segment_labels")

    def label_of(self, segment_id: int) -> int:
        return int(self._segment_labels[self._row(segment_id)])

    def counts(self) -> dict[int, int]:
        """Segments per label id."""
        ids, counts = np.unique(self._segment_labels, return_counts=True)
        found = dict(zip(ids.tolist(), counts.tolist(), strict=True))
        return {lab.id: found.get(lab.id, 0) for lab in self.labels}

    def areas_px(self) -> dict[int, int]:
        """Pixels per label id."""
        sums = np.bincount(self._segment_labels + 1, weights=self._areas,
                           minlength=self._states[self._position].next_id + 1)
        return {lab.id: int(sums[lab.id + 1]) for lab in self.labels}

    def manual_rows(self) -> np.ndarray:
        """(N,) bool: segments whose label was set by hand (or by a find-similar / polygon label)."""
        manual = np.zeros(self._n, bool)
        for rows, _ in self._states[self._position].overrides:
            manual[rows] = True
        return manual

    def segment_info(self, segment_id: int) -> dict[str, Any]:
        """What the explorer shows for one segment: label, cluster, probability, outlier score, area, spectrum.

        With ``spectra`` and bands that allow them, also ``"ndvi"`` and ``"ndwi"`` of the segment's mean spectrum.
        """
        row = self._row(segment_id)
        label_id = int(self._segment_labels[row])
        info: dict[str, Any] = {
            "segment": int(segment_id), "label": label_id,
            "name": self.label(label_id).name if label_id != UNLABELLED else "unlabelled",
            "cluster": int(self.clustering.cluster[row]),
            "probability": float(self.clustering.probabilities[row]),
            "outlier_score": float(self.clustering.outlier_scores[row]),
            "area_px": int(self._areas[row]), "manual": bool(self.manual_rows()[row]),
        }
        if self.spectra is not None:
            names = self.bands or tuple(f"band {i}" for i in range(self.spectra.shape[1]))
            info["spectrum"] = dict(zip(names, (round(float(v), 5) for v in self.spectra[row]), strict=True))
            for index, (a, b) in index_bands(tuple(self.bands)).items():  # NDVI, NDWI of the mean spectrum
                va, vb = float(self.spectra[row, a]), float(self.spectra[row, b])
                info[index.lower()] = round((va - vb) / (va + vb), 4) if va + vb > 0 else None
        return info

    def _row(self, segment_id: object) -> int:
        sid = as_int(segment_id, "a segment id")
        if not 1 <= sid <= self._n:
            raise SessionError(f"there is no segment {sid} (segments are 1..{self._n})")
        return sid - 1

    def _rows(self, segment_ids: Iterable[object]) -> np.ndarray:
        return self._rules.rows(segment_ids)

    # --- edits ----------------------------------------------------------------------------------------

    def rename(self, label_id: int, name: str) -> None:
        """Name a label (names are unique, case-insensitively, and never empty)."""
        self._edit({"op": "rename", "label": label_id, "name": name})

    def set_colour(self, label_id: int, colour: str) -> None:
        """Recolour a label (``"#rrggbb"``)."""
        self._edit({"op": "colour", "label": label_id, "colour": colour})

    def hide(self, label_ids: int | Sequence[int], hidden: bool = True) -> None:
        """Hide labels from the map (or show them again with ``hidden=False``)."""
        ids = [label_ids] if isinstance(label_ids, (int, np.integer)) else list(label_ids)
        self._edit({"op": "hide", "labels": ids, "hidden": hidden})

    def show(self, label_ids: int | Sequence[int]) -> None:
        self.hide(label_ids, hidden=False)

    def merge(self, label_ids: Sequence[int], *, name: str | None = None) -> int:
        """Merge labels into the first one (which keeps its id, colour and, unless ``name`` is given, name)."""
        self._edit({"op": "merge", "labels": list(label_ids), "name": name})
        return int(label_ids[0])

    def split(self, label_id: int) -> list[int]:
        """Re-cut one label a level finer along the HDBSCAN hierarchy: one label per child cluster.

        Each of the label's nodes is replaced by its children; the first part keeps the label's id and name.
        Segments that fall out of the split cluster itself (below the density at which it divides) become
        unlabelled, as HDBSCAN would call them noise. Returns the ids of the parts.
        """
        before = self._states[self._position].next_id
        self._edit({"op": "split", "label": label_id})
        return [label_id, *range(before, self._states[self._position].next_id)]

    def recut(self, level: int | None) -> None:
        """Re-cut the hierarchy coarser or finer (:meth:`granularity_levels`; ``None``: HDBSCAN's cut).

        The researcher's labels (:attr:`Label.edited`: named, recoloured, hidden, merged, assigned to, made by
        hand) are kept exactly as they are, with their segments: the hierarchy is re-cut around them
        (:meth:`ClusterHierarchy.cut_keeping`). Labels whose nodes are all in the new cut keep their id; the
        other automatic labels are replaced by one label per new node (undo brings them back). Hand
        assignments always stay.
        """
        self._edit({"op": "recut", "level": level})

    def granularity_levels(self) -> list[int]:
        """Number of clusters at each granularity level of the hierarchy (index = level)."""
        return self.hierarchy.level_sizes()

    def granularity_options(self) -> list[int]:
        """Number of labels :meth:`recut` to each level would give now (index = level), the researcher's kept
        (the module's example checks it against a re-cut)."""
        state = self._states[self._position]
        kept = self._rules.kept_nodes(state)
        fixed = sum(1 for lab in state.labels if lab.edited or not lab.nodes)
        if kept not in self._level_cache:  # the same for every edit that keeps the same labels whole
            if len(self._level_cache) > 16:
                self._level_cache.clear()
            self._level_cache[kept] = [len(self.hierarchy.cut_keeping(self.hierarchy.level_cut(level), kept))
                                       for level in range(self.hierarchy.n_levels)]
        return [fixed + n - len(kept) for n in self._level_cache[kept]]

    def assign(self, segment_ids: Iterable[int], label_id: int, *, how: str = "manual") -> None:
        """Put segments in a label by hand (``label_id=-1``: unlabel them). Hand assignments win over clusters."""
        ids = [int(s) for s in segment_ids]
        self._edit({"op": "assign", "segments": ids, "label": label_id, "how": how})

    def create_label(self, name: str, segment_ids: Iterable[int] = (), *, colour: str | None = None,
                     source: str = "manual", details: Mapping[str, Any] | None = None) -> int:
        """A new label made of the given segments (assigned by hand); returns its id."""
        new_id = self._states[self._position].next_id
        self._edit({"op": "create", "name": name, "segments": [int(s) for s in segment_ids], "colour": colour,
                    "source": source, "details": to_jsonable(dict(details or {}))})
        return new_id

    def delete(self, label_id: int) -> None:
        """Remove a label; its segments become unlabelled."""
        self._edit({"op": "delete", "label": label_id})

    def prepare(self, edit: Mapping[str, Any]) -> PreparedEdit:
        """Apply ``edit`` to the current state without committing it; :meth:`commit_prepared` commits it.

        Safe from another thread while the session is edited: the state is read under the session's lock, the
        edit (a JSON edit, as in the session file) is applied outside it, so a slow one such as a propagation
        never holds up the researcher's own edits. Raises :class:`SessionError` as the edit itself would.
        """
        edit = to_jsonable(edit)
        with self._lock:
            position, n_edits = self._position, len(self._edits)
            base = self._states[position]
            rules = copy.copy(self._rules)  # a cache of its own: the main thread's edits use the session's
            rules._assign_cache = dict(self._rules._assign_cache)
        return PreparedEdit(edit, position, n_edits, base, rules.apply(base, edit))

    def commit_prepared(self, prepared: PreparedEdit) -> bool:
        """Commit an edit :meth:`prepare` computed, if the session is still where it was then.

        The edit becomes the next edit of the log exactly as if it were made now (one transaction of the store,
        observers, undo), provided the session is still at the same position of the same edit
        log; else nothing changes. Safe to call from another thread (observers then hear it in that thread).

        Returns
        -------
        bool
            Whether it was committed (``False``: the session moved on since; prepare it again).

        Raises
        ------
        OutputError
            The store cannot be written (nothing changes).
        """
        def change() -> dict[str, Any]:
            if (self._position != prepared.position or len(self._edits) != prepared.n_edits
                    or self._states[self._position] is not prepared.base):
                raise Outdated
            return self._append(copy.deepcopy(prepared.edit), prepared.state)

        try:
            self._commit(change)
        except Outdated:
            return False
        return True

    # --- undo / redo ----------------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return self._position > 0

    @property
    def can_redo(self) -> bool:
        return self._position < len(self._edits)

    @property
    def edits(self) -> tuple[dict[str, Any], ...]:
        """The edit log up to the current position (what the labels are derived from)."""
        return tuple(copy.deepcopy(self._edits[: self._position]))

    @property
    def state(self) -> SessionState:
        """The current state (immutable: every edit, undo and redo gives another object)."""
        return self._states[self._position]

    @property
    def position(self) -> int:
        """How many edits of the log are applied (the rest can be redone)."""
        return self._position

    def describe(self, index: int) -> str:
        """Edit ``index`` of the log (0-based) in words, with the labels' names as they were then.

        Examples: ``"rename 'cluster 3' to 'salt marsh'"``, ``"merge 'water', 'cluster 2' into 'water'"``,
        ``"12 segments to 'water'"``, ``"re-cut to 9 labels"``.
        """
        if not 0 <= index < len(self._edits):
            raise SessionError(f"there is no edit {index} (the log has {len(self._edits)})")
        return describe_edit(self._edits[index], self._states[index].labels, self._states[index + 1].labels)

    def undo(self) -> None:
        """Step back one of this annotator's own edits (:class:`SessionError` when there is none to undo).

        On a store shared with other windows the session first catches up; when the last edit is another
        annotator's, the undo is refused and says so (it would undo their work): they undo it in their window,
        or an edit that reverses it does. Observers hear ``{"op": "undo", "edit": <op>, "description": <what
        was undone, in words>}``.
        """
        def change() -> dict[str, Any]:
            if not self.can_undo:
                raise SessionError("nothing to undo")
            i = self._position - 1
            self._check_own(i, "undo")
            self._set_position(i)
            return {"op": "undo", "edit": self._edits[i]["op"], "description": self.describe(i)}

        self._commit(change)

    def redo(self) -> None:
        """Step forward one undone edit of this annotator's (:class:`SessionError` when there is none).

        A new edit, in any window on the same store, ends what can be redone (the undone edits stay in the store,
        marked dropped).
        """
        def change() -> dict[str, Any]:
            if not self.can_redo:
                raise SessionError("nothing to redo")
            i = self._position
            self._check_own(i, "redo")
            self._set_position(i + 1)
            return {"op": "redo", "edit": self._edits[i]["op"], "description": self.describe(i)}

        self._commit(change)

    def _check_own(self, index: int, what: str) -> None:
        """Refuse to undo or redo edit ``index`` when another annotator made it."""
        who = self._annotations[index].get("annotator")
        if who is not None and who != self.annotator:
            raise SessionError(f"the {'last' if what == 'undo' else 'next'} edit ({self.describe(index)}) is "
                               f"{who}'s, made in another window: {what} here acts on {self.annotator}'s own edits "
                               f"and stops at theirs; {who} can {what} it there, or an edit that reverses it can be "
                               "made here")

    def _set_position(self, position: int) -> None:
        with self._lock:  # labels first: a reader never sees the new position with the old labels
            labels = self._derive(self._states[position])
            self._segment_labels, self._position = labels, position

    def _edit(self, edit: dict[str, Any], record: Mapping[str, Any] | None = None) -> None:
        """Apply and commit ``edit``; ``record``: its annotation when it is brought from elsewhere (a merge)."""
        edit = to_jsonable(edit)

        def change() -> dict[str, Any]:
            state = self._rules.apply(self._states[self._position], edit)  # raises before anything changes
            return self._append(edit, state, record)

        self._commit(change)

    def _append(self, edit: dict[str, Any], state: SessionState,
                record: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Make ``edit`` (which leads to ``state``) the next edit, dropping the undone ones; its event."""
        del self._edits[self._position:]
        del self._annotations[self._position:]
        del self._seqs[self._position:]
        del self._states[self._position + 1:]
        self._edits.append(edit)
        self._annotations.append(dict(record) if record is not None else annotation(self.annotator))
        self._seqs.append(None)
        self._states.append(state)
        self._set_position(self._position + 1)
        return {**edit, "description": self.describe(self._position - 1)}

    def _notify(self, event: dict[str, Any]) -> None:
        for callback in list(self._observers):
            callback(event)

    # --- observers ------------------------------------------------------------------------------------

    def observe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(event)`` after every edit, undo and redo (``event["op"]`` says which)."""
        self._observers.append(callback)

    def unobserve(self, callback: Callable[[dict[str, Any]], None]) -> None:
        with contextlib.suppress(ValueError):
            self._observers.remove(callback)

    def _derive(self, state: SessionState) -> np.ndarray:
        return self._rules.derive(state)

    # --- persistence ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The session file's content: format, fingerprint, the whole edit log and the undo position."""
        return {"format": FILE_FORMAT, "version": FILE_VERSION, "s2label": __version__,
                "saved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "fingerprint": self.fingerprint, "position": self._position, "edits": self._edits,
                "annotations": self._annotations}

    # --- export ---------------------------------------------------------------------------------------

    def label_table(self) -> list[dict[str, Any]]:
        """One row per label: id, name, colour, hidden, counts, area, provenance (:func:`.label_table`)."""
        return label_table(self)

    def polygons(self, *, include_hidden: bool = True, include_unlabelled: bool = False,
                 precision: str = "segment", **options: Any) -> LabelPolygons:
        """The labels dissolved into (Multi)Polygons with names and provenance (:func:`.label_polygons`)."""
        return label_polygons(self, include_hidden=include_hidden, include_unlabelled=include_unlabelled,
                              precision=precision, **options)

    def export(self, path: str | os.PathLike[str], *, include_hidden: bool = True,
               include_unlabelled: bool = False, precision: str = "segment", **options: Any) -> Path:
        """Write the labels as ``.geojson`` (WGS84), ``.gpkg`` or ``.tif`` (:func:`.export_labels`);
        ``precision="pixel"``: pixel-precise (see :meth:`label_raster`)."""
        return export_labels(self, path, include_hidden=include_hidden, include_unlabelled=include_unlabelled,
                             precision=precision, **options)

    def export_chips(self, folder: str | os.PathLike[str], **options: Any) -> ChipExport:
        """Write the labels as training data: image chips, masks, an index (CSV, STAC) and a spatially blocked
        split (:func:`s2label.session.chips.export_chips`: ``size=256``, ``overlap``, ``bands``, ``min_labelled``...).
        """
        from s2label.session.chips import export_chips

        return export_chips(self, folder, **options)

    def __repr__(self) -> str:
        n_lab = int(np.count_nonzero(self._segment_labels != UNLABELLED))
        return (f"LabelSession({len(self.labels)} labels, {n_lab}/{self._n} segments labelled, "
                f"{self._position} edits{f', {len(self._edits) - self._position} undone' if self.can_redo else ''}"
                f", autosave={str(self.autosave_path) if self.autosave_path else None})")


