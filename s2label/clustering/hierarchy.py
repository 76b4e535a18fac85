"""The HDBSCAN cluster hierarchy of a clustering, and cuts through it.

HDBSCAN's condensed tree holds *cluster nodes* (ids ``>= n_points``; the root is ``n_points``) and, as leaves,
the points, each recorded under the node it falls out of (its *leaf node*) at some density ``lambda``. A
**cut** is a set of cluster nodes none of which is an ancestor of another (an antichain). A point belongs to the
member of the cut that is its leaf node or an ancestor of it; a point that falls out of a node above the cut is
noise. HDBSCAN's own labels are the cut it selected (excess of mass), so they are reproduced exactly, and
re-cutting finer (a node replaced by its children) or coarser (siblings replaced by their parent) follows the
same hierarchy.

Examples
--------
>>> import numpy as np, s2label
>>> from s2label.encoders.embeddings import Embeddings
>>> rng = np.random.default_rng(0)
>>> v = np.concatenate([rng.normal(c, .3, (60, 3)) for c in (0, 3, 6, 20)]).astype("f4")
>>> c = s2label.cluster(Embeddings(v, np.arange(1, 241), "spectral"), reduce="none", min_cluster_size=10)
>>> h = ClusterHierarchy.from_clustering(c)
>>> np.array_equal(h.assign(h.selected), c.cluster)
True
>>> [len(h.level_cut(k)) for k in range(4)]
[1, 2, 3, 4]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from s2label.clustering.clusterer import Clustering
from s2label.errors import SessionError

__all__ = ["ClusterHierarchy"]


@dataclass(frozen=True, eq=False)
class ClusterHierarchy:
    """Cluster nodes of a condensed tree, the leaf node of every point, and HDBSCAN's selected cut.

    Attributes
    ----------
    nodes : ndarray (M,) int64
        Cluster node ids, sorted (the root first).
    parent : ndarray (M,) int64
        Parent node of each node (``-1`` for the root).
    birth : ndarray (M,) float64
        Density level (``lambda``) at which each node appears (0 for the root).
    size : ndarray (M,) int64
        Points in each node when it appears.
    point_node : ndarray (N,) int64
        Leaf node of each point (the node it falls out of).
    selected : tuple of int
        HDBSCAN's cut, ordered so that ``selected[k]`` is cluster ``k`` of the clustering.
    flat : bool
        True when the clustering carries no usable tree (assigned with a saved model): the nodes are then the
        clusters themselves, with no parent and no children, and cannot be re-cut.
    """

    nodes: np.ndarray
    parent: np.ndarray
    birth: np.ndarray
    size: np.ndarray
    point_node: np.ndarray
    selected: tuple[int, ...]
    flat: bool = False

    # --- construction ---------------------------------------------------------------------------------

    @classmethod
    def from_clustering(cls, clustering: Clustering) -> ClusterHierarchy:
        """The hierarchy of ``clustering``; a flat one when its tree does not describe its own segments."""
        labels = np.asarray(clustering.cluster)
        n = labels.size
        tree = np.asarray(clustering.condensed_tree)
        if clustering.params.get("predicted") or clustering.params.get("fit_rows") or tree.size == 0 or n == 0:
            return cls.flat_from_labels(labels)
        try:
            h = cls._from_tree(tree, n)
            selected = h._selection_of(labels)
        except SessionError:
            return cls.flat_from_labels(labels)
        return cls(h.nodes, h.parent, h.birth, h.size, h.point_node, selected)

    @classmethod
    def flat_from_labels(cls, labels: np.ndarray) -> ClusterHierarchy:
        """A hierarchy whose nodes are the clusters of ``labels`` (node ``k`` = cluster ``k``), no tree."""
        labels = np.asarray(labels, dtype=np.int64)
        k = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
        nodes = np.arange(k, dtype=np.int64)
        return cls(nodes, np.full(k, -1, np.int64), np.zeros(k), np.bincount(labels[labels >= 0], minlength=k),
                   np.where(labels >= 0, labels, -1), tuple(range(k)), flat=True)

    @classmethod
    def _from_tree(cls, tree: np.ndarray, n: int) -> ClusterHierarchy:
        parent_col = tree["parent"].astype(np.int64)
        child_col = tree["child"].astype(np.int64)
        is_point = child_col < n
        points = child_col[is_point]
        if points.size != n or np.unique(points).size != n:
            raise SessionError("the condensed tree does not list every segment once")
        point_node = np.empty(n, np.int64)
        point_node[points] = parent_col[is_point]
        node_rows = ~is_point
        nodes = np.unique(np.concatenate([[n], child_col[node_rows]]))
        if nodes[0] != n or np.setdiff1d(parent_col, nodes).size:
            raise SessionError("the condensed tree is inconsistent")
        pos = np.searchsorted(nodes, child_col[node_rows])
        parent = np.full(nodes.size, -1, np.int64)
        birth = np.zeros(nodes.size)
        size = np.zeros(nodes.size, np.int64)
        parent[pos] = parent_col[node_rows]
        birth[pos] = tree["lambda_val"][node_rows]
        size[pos] = tree["child_size"][node_rows]
        size[0] = n
        return cls(nodes, parent, birth, size, point_node, ())

    def _selection_of(self, labels: np.ndarray) -> tuple[int, ...]:
        """The cut whose assignment equals ``labels`` (cluster k -> the deepest common ancestor of its points)."""
        k = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
        selected = []
        for c in range(k):
            leafs = np.unique(self.point_node[labels == c])
            if leafs.size == 0:
                raise SessionError(f"cluster {c} is empty")
            common = set(self.ancestors(int(leafs[0])))
            for leaf in leafs[1:]:
                common &= set(self.ancestors(int(leaf)))
            selected.append(max(common, key=lambda node: self.depth(node)))
        if k and not np.array_equal(self.assign(selected), labels):
            raise SessionError("HDBSCAN's labels are not a cut of its condensed tree")
        return tuple(selected)

    # --- queries --------------------------------------------------------------------------------------

    def _index(self, node: int) -> int:
        i = int(np.searchsorted(self.nodes, node))
        if i >= self.nodes.size or self.nodes[i] != node:
            raise SessionError(f"no cluster node {node} in the hierarchy")
        return i

    def parent_of(self, node: int) -> int:
        """Parent node (``-1`` for the root or a flat node)."""
        return int(self.parent[self._index(node)])

    def children(self, node: int) -> tuple[int, ...]:
        """Child nodes, in id order (empty for a leaf of the hierarchy)."""
        self._index(node)
        return tuple(int(c) for c in self.nodes[self.parent == node]) if not self.flat else ()

    def ancestors(self, node: int) -> list[int]:
        """``node`` and its ancestors up to the root."""
        chain = [node]
        while (p := self.parent_of(chain[-1])) >= 0:
            chain.append(p)
        return chain

    def depth(self, node: int) -> int:
        return len(self.ancestors(node)) - 1

    def check_cut(self, cut: Sequence[int]) -> None:
        """Raise :class:`SessionError` unless ``cut`` is a set of distinct nodes, none an ancestor of another."""
        members = set(cut)
        if len(members) != len(cut):
            raise SessionError("a node appears twice in the cut")
        for node in cut:
            if members.intersection(self.ancestors(node)[1:]):
                raise SessionError(f"node {node} lies under another node of the cut")

    def node_map(self, cut: Sequence[int]) -> np.ndarray:
        """(M,) position in ``cut`` of the cut member at or above each node; ``-1`` above the cut."""
        out = np.full(self.nodes.size, -1, np.int64)
        where = {int(node): i for i, node in enumerate(cut)}
        if self.flat:
            for node, i in where.items():
                out[self._index(node)] = i
            return out
        # nodes are numbered so that a parent's id is smaller than its children's: one pass top-down
        for j in range(self.nodes.size):
            node = int(self.nodes[j])
            if node in where:
                out[j] = where[node]
            elif self.parent[j] >= 0:
                out[j] = out[self._index(int(self.parent[j]))]
        return out

    def assign(self, cut: Sequence[int]) -> np.ndarray:
        """(N,) position in ``cut`` of the member each point belongs to; ``-1`` (noise) above the cut."""
        mapping = self.node_map(cut)
        idx = np.searchsorted(self.nodes, self.point_node)
        inside = (self.point_node >= 0) & (idx < self.nodes.size)
        out = np.full(self.point_node.size, -1, np.int64)
        out[inside] = mapping[idx[inside]]
        return out

    # --- global re-cuts -------------------------------------------------------------------------------

    @property
    def n_levels(self) -> int:
        """Number of granularity levels (``level_cut(0)`` .. ``level_cut(n_levels - 1)``)."""
        return 1 if self.flat else int(np.unique(self.birth[1:]).size) + 1

    def level_cut(self, level: int) -> tuple[int, ...]:
        """The cut after the ``level`` first splits of the hierarchy, taken in order of density.

        Level 0 is the root alone (one cluster); each next level splits the node(s) that divide at the next
        density; the last level is every leaf of the hierarchy. A flat hierarchy has one level: its clusters.
        """
        if not 0 <= level < self.n_levels:
            raise SessionError(f"granularity level must be between 0 and {self.n_levels - 1}, got {level}")
        if self.flat:
            return tuple(int(n) for n in self.nodes)
        splits = np.unique(self.birth[1:])
        cutoff = splits[level - 1] if level else -np.inf
        born = (self.birth <= cutoff) | (self.parent < 0)
        # a born node is in the cut when none of its children is born yet
        child_born = np.zeros(self.nodes.size, bool)
        has_parent = self.parent >= 0
        parent_idx = np.searchsorted(self.nodes, self.parent[has_parent])
        child_born[parent_idx[born[has_parent]]] = True
        return tuple(int(n) for n in self.nodes[born & ~child_born])

    def cut_keeping(self, cut: Sequence[int], keep: Sequence[int]) -> tuple[int, ...]:
        """``cut`` changed as little as possible so that it holds every node of ``keep``.

        A node of ``cut`` under a kept node is dropped (the kept node covers it); a node above a kept one is
        replaced by the nodes that cover the rest of it (the siblings along the way down to the kept node);
        the others stay. So the points of every kept node stay together, and the rest follow ``cut``.

        Parameters
        ----------
        cut : sequence of int
            A cut (distinct nodes, none above another), e.g. :meth:`level_cut`.
        keep : sequence of int
            Nodes that must stay, themselves a cut.

        Returns
        -------
        tuple of int
            The kept nodes first, then the rest of the cut.

        Examples
        --------
        >>> h = ClusterHierarchy(np.array([0, 1, 2, 3, 4]), np.array([-1, 0, 0, 2, 2]), np.zeros(5),
        ...                      np.ones(5, np.int64), np.zeros(0, np.int64), (1, 3, 4))
        >>> h.cut_keeping((0,), (3,))  # the root, but node 3 stays: its sibling 4 and its uncle 1 cover the rest
        (3, 1, 4)
        >>> h.cut_keeping((1, 3, 4), (2,))
        (2, 1)
        """
        kept = tuple(int(n) for n in dict.fromkeys(keep))
        if not kept:
            return tuple(int(n) for n in cut)
        members = set(kept)
        above = {a for node in kept for a in self.ancestors(node)[1:]}  # strictly above a kept node
        out = list(kept)
        stack = [int(n) for n in reversed(tuple(cut))]
        while stack:
            node = stack.pop()
            if node in members or members.intersection(self.ancestors(node)[1:]):
                continue  # a kept node or under one
            if node in above:
                stack.extend(reversed(self.children(node)))
            else:
                out.append(node)
        return tuple(out)

    def level_sizes(self) -> list[int]:
        """Number of clusters at each granularity level."""
        return [len(self.level_cut(k)) for k in range(self.n_levels)]
