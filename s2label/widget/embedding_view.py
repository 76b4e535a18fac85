"""A 2-D view of the segment embeddings (bqplot): points coloured by label, a brush that selects segments.

The projection is computed once (:func:`project`): PCA of the space HDBSCAN clustered in, or a 2-D UMAP of
it. At most ``max_points`` segments are drawn (a fixed random sample, SVG stays responsive); brushing selects
among the drawn points, and segments selected elsewhere (a click on the map) are highlighted when drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import bqplot as bq
import ipywidgets as w
import numpy as np
from bqplot.interacts import BrushSelector
from sklearn.decomposition import PCA

from s2label.display.colours import UNLABELLED_COLOUR

__all__ = ["project", "EmbeddingView"]


def project(space: np.ndarray, *, method: Literal["pca", "umap"] = "pca", random_state: int = 0) -> np.ndarray:
    """(N, 2) float32 projection of an (N, D) embedding space for display.

    Parameters
    ----------
    space : ndarray (N, D) float
        At least 3 rows; with D <= 2 the columns are returned as they are (padded with zeros to 2).
    method : {"pca", "umap"}
        How to reduce the space to two dimensions.
    random_state : int
        Seeds the reduction.

    Returns
    -------
    ndarray (N, 2) float32

    Raises
    ------
    ValueError
        ``space`` not (N, D) with N >= 3, or an unknown ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> project(np.random.default_rng(0).normal(size=(50, 5))).shape
    (50, 2)
    """
    X = np.asarray(space, dtype=np.float32)
    if X.ndim != 2 or X.shape[0] < 3:
        raise ValueError(f"need an (N >= 3, D) array to project, got shape {X.shape}")
    if X.shape[1] <= 2:
        return np.pad(X, ((0, 0), (0, 2 - X.shape[1]))).astype(np.float32)
    if method == "pca":
        return PCA(n_components=2, random_state=random_state).fit_transform(X).astype(np.float32)
    if method == "umap":
        from s2label.clustering._umap import import_umap

        umap = import_umap()
        reducer = umap.UMAP(n_components=2, random_state=random_state, n_jobs=1)
        return np.asarray(reducer.fit_transform(X), np.float32)
    raise ValueError(f"unknown projection {method!r}: use 'pca' or 'umap'")


class EmbeddingView(w.VBox):
    """Scatter of the projected segments; ``on_select(segment_ids)`` is called when the brush moves.

    Parameters
    ----------
    xy : ndarray (N, 2)
        Projected position of segment ``i + 1``.
    max_points : int
        Segments drawn at most (a fixed random sample).
    """

    def __init__(self, xy: np.ndarray, *, on_select: Callable[[np.ndarray], None], max_points: int = 4000,
                 seed: int = 0) -> None:
        xy = np.asarray(xy, np.float32)
        n = xy.shape[0]
        rng = np.random.default_rng(seed)
        self.rows = np.sort(rng.choice(n, size=min(n, max_points), replace=False))
        self._on_select = on_select
        self._quiet = False
        sx, sy = bq.LinearScale(), bq.LinearScale()
        self.colour_scale = bq.OrdinalColorScale(colors=[UNLABELLED_COLOUR], domain=[-1])
        self.scatter = bq.Scatter(x=xy[self.rows, 0], y=xy[self.rows, 1], color=np.full(self.rows.size, -1),
                                  scales={"x": sx, "y": sy, "color": self.colour_scale}, default_size=12,
                                  stroke=None, unselected_style={"opacity": 0.35},
                                  selected_style={"stroke": "black", "stroke-width": 1.5, "opacity": 1.0})
        self.brush = BrushSelector(x_scale=sx, y_scale=sy, marks=[self.scatter], color="#444444")
        self.figure = bq.Figure(marks=[self.scatter], interaction=self.brush, title="segment embeddings",
                                axes=[bq.Axis(scale=sx, label="component 1"),
                                      bq.Axis(scale=sy, label="component 2", side="left")],
                                layout=w.Layout(width="100%", height="420px"),
                                fig_margin={"top": 40, "bottom": 40, "left": 40, "right": 10})
        self.scatter.observe(self._selected, "selected")
        self.note = w.HTML(f"<small>{self.rows.size} of {n} segments drawn; brush to select them on the map</small>")
        super().__init__([self.figure, self.note])

    def _selected(self, change: dict) -> None:
        if self._quiet:
            return
        chosen = change["new"]
        ids = self.rows[np.asarray(chosen, dtype=np.int64)] + 1 if chosen is not None and len(chosen) else \
            np.zeros(0, np.int64)
        self._on_select(ids)

    def set_colours(self, segment_labels: np.ndarray, colours: dict[int, str]) -> None:
        """Colour the points by label (``colours``: label id -> hex; unlabelled -1 in :data:`UNLABELLED_COLOUR`)."""
        domain = sorted(colours)
        self.colour_scale.domain = [-1, *domain]
        self.colour_scale.colors = [UNLABELLED_COLOUR, *(colours[k] for k in domain)]
        self.scatter.color = np.asarray(segment_labels)[self.rows]

    def highlight(self, segment_ids: np.ndarray) -> None:
        """Select the drawn points of these segments (without calling ``on_select``)."""
        wanted = np.asarray(segment_ids, np.int64) - 1
        idx = np.flatnonzero(np.isin(self.rows, wanted))
        self._quiet = True
        try:
            self.scatter.selected = idx.tolist() if idx.size else None
        finally:
            self._quiet = False
