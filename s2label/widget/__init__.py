"""The explorer widget: an ipyleaflet map and a side panel over a :class:`~s2label.session.LabelSession`.

:mod:`.overlays` turns a scene and its segments into map images without any widget, :mod:`.detail` decides
which part of the scene the map needs at which resolution when zoomed in; :mod:`.panel` and
:mod:`.embedding_view` are the panel's parts; :class:`ClusterExplorer` wires them to a session.
"""

from .explorer import ClusterExplorer
from .overlays import segments_in_polygon

__all__ = ["ClusterExplorer", "segments_in_polygon"]
