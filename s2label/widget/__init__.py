"""The explorer widget: an ipyleaflet map and a side panel over a :class:`~s2label.session.LabelSession`.

:mod:`.overlays` turns a scene and its segments into map images without any widget, :mod:`.detail` decides
which part of the scene the map needs at which resolution when zoomed in; :mod:`.panel` and
:mod:`.embedding_view` are the panel's parts; :class:`ClusterExplorer` wires them to a session.
"""

from s2label.display.overlays import segments_in_polygon
from s2label.widget.explorer import ClusterExplorer

__all__ = ["ClusterExplorer", "segments_in_polygon"]
