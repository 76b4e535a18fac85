"""Keyboard shortcuts for the explorer: a table of key combinations, matching of browser key events, dispatch.

Key presses reach Python through :mod:`ipyevents`: an ``ipyevents.Event`` watching ``keydown`` on a widget
(the map) sends every key pressed while the mouse is over that widget. Its front end listens on the
document in the capture phase only while the pointer is over the widget, and calls ``stopPropagation()``
and ``preventDefault()`` on each key event it sends, so those presses do not reach JupyterLab's own
shortcuts (or the browser's, where a page may override them). The flip side: while the pointer is over the
watched widget every key is taken, so watch a widget without text fields (the map, not the panel).

:func:`match` turns one event (a dict, as ipyevents sends it) into an action name, and
:class:`KeyboardShortcuts` calls the explorer's handler for it. Nothing here needs a browser to be tested:
``KeyboardShortcuts.handle`` takes the same dicts.

Examples
--------
>>> match({"type": "keydown", "key": "z", "ctrlKey": True, "shiftKey": False, "metaKey": False, "altKey": False})
'undo'
>>> match({"type": "keydown", "key": "Z", "ctrlKey": False, "shiftKey": True, "metaKey": True, "altKey": False})
'redo'
>>> match({"type": "keydown", "key": "q"}) is None
True
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets

__all__ = ["Shortcut", "SHORTCUTS", "match", "combo", "help_html", "KeyboardShortcuts"]


@dataclass(frozen=True)
class Shortcut:
    """One key combination and the explorer action it triggers.

    Attributes
    ----------
    key : str
        ``KeyboardEvent.key`` as the browser names it: ``"z"``, ``"0"``, ``"?"``, ``"Escape"``. Single
        letters match either case.
    ctrl : bool
        Whether Ctrl (or Cmd, ``metaKey``, on macOS) is held.
    shift : bool
        Whether Shift is held (ignored for ``"?"``, which needs Shift on most keyboards).
    action : str
        What to do: ``"undo"``, ``"mode:inspect"``... (see :class:`KeyboardShortcuts` for ``"prefix:arg"``).
    description : str
        One line for the help table.

    Examples
    --------
    >>> Shortcut("z", True, False, "undo", "undo the last edit").action
    'undo'
    """

    key: str
    ctrl: bool
    shift: bool
    action: str
    description: str


#: The explorer's default shortcuts.
SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("z", True, False, "undo", "undo the last edit"),
    Shortcut("z", True, True, "redo", "redo the edit undone last"),
    Shortcut("y", True, False, "redo", "redo the edit undone last"),
    Shortcut("n", False, False, "next", "go to the next segment to review"),
    Shortcut("i", False, False, "mode:inspect", "click mode: inspect a segment"),
    Shortcut("a", False, False, "mode:assign", "click mode: put a segment in the target label"),
    Shortcut("p", False, False, "mode:polygon", "click mode: draw a polygon"),
    Shortcut("s", False, False, "mode:similar", "click mode: pick examples for similar segments"),
    Shortcut("Escape", False, False, "clear", "clear the selection and the examples"),
    Shortcut("0", False, False, "zoom to scene", "zoom to the whole scene"),
    Shortcut("?", False, False, "help", "show these shortcuts"),
)

#: Keys whose Shift state is not compared (typing them needs Shift on most layouts).
_SHIFTED_KEYS = frozenset({"?"})
#: Elements a key press goes into as text: never a shortcut.
_TEXT_TAGS = frozenset({"INPUT", "TEXTAREA", "SELECT"})


def _norm_key(key: str) -> str:
    return key.lower() if len(key) == 1 and key.isalpha() else key


def _lookup_key(key: str, ctrl: bool, shift: bool) -> tuple[str, bool, bool]:
    k = _norm_key(key)
    return (k, bool(ctrl), False if k in _SHIFTED_KEYS else bool(shift))


def match(event: Mapping[str, Any], shortcuts: tuple[Shortcut, ...] | list[Shortcut] = SHORTCUTS) -> str | None:
    """The action of a keydown event, or ``None``.

    Parameters
    ----------
    event : mapping
        An ipyevents key event: ``"type"`` (``"keydown"``; an event without a type is taken as one),
        ``"key"``, ``"ctrlKey"``, ``"shiftKey"``, ``"metaKey"``, ``"altKey"`` (missing flags are False) and
        optionally ``"target"`` (``{"tagName": ...}``).
    shortcuts : sequence of Shortcut
        The table to match against (the first match wins).

    Returns
    -------
    str or None
        ``None`` for other event types, with Alt held, for keys typed into an ``INPUT``, ``TEXTAREA`` or
        ``SELECT``, and for combinations not in the table. Meta (Cmd) counts as Ctrl; single letters match
        either case; Shift is not compared for ``"?"``.

    Examples
    --------
    >>> match({"type": "keydown", "key": "?", "shiftKey": True}), match({"type": "keydown", "key": "N"})
    ('help', 'next')
    >>> match({"type": "keydown", "key": "z", "ctrlKey": True, "altKey": True}) is None
    True
    >>> match({"type": "keyup", "key": "z", "ctrlKey": True}) is None
    True
    """
    if event.get("type", event.get("event", "keydown")) != "keydown" or event.get("altKey"):
        return None
    key = event.get("key")
    if not isinstance(key, str) or not key:
        return None
    target = event.get("target")
    if isinstance(target, Mapping) and str(target.get("tagName", "")).upper() in _TEXT_TAGS:
        return None
    wanted = _lookup_key(key, bool(event.get("ctrlKey")) or bool(event.get("metaKey")), bool(event.get("shiftKey")))
    for shortcut in shortcuts:
        if _lookup_key(shortcut.key, shortcut.ctrl, shortcut.shift) == wanted:
            return shortcut.action
    return None


def combo(shortcut: Shortcut) -> str:
    """How a shortcut's keys are written for people: ``"Ctrl+Shift+Z"``, ``"N"``, ``"Esc"``, ``"?"``.

    Parameters
    ----------
    shortcut : Shortcut

    Returns
    -------
    str
        Modifiers and key joined by ``+``; a single letter in upper case.

    Examples
    --------
    >>> [combo(s) for s in SHORTCUTS[:3]] + [combo(SHORTCUTS[8])]
    ['Ctrl+Z', 'Ctrl+Shift+Z', 'Ctrl+Y', 'Esc']
    """
    key = {"Escape": "Esc", " ": "Space"}.get(shortcut.key, shortcut.key)
    key = key.upper() if len(key) == 1 else key
    shift = shortcut.shift and shortcut.key not in _SHIFTED_KEYS
    return "+".join([*(["Ctrl"] if shortcut.ctrl else []), *(["Shift"] if shift else []), key])


def help_html(shortcuts: tuple[Shortcut, ...] | list[Shortcut] = SHORTCUTS) -> str:
    """A small HTML table of the shortcuts (key combination, description) for a help popover.

    Combinations with the same description (Ctrl+Shift+Z, Ctrl+Y) share a row; Ctrl also means Cmd.

    Parameters
    ----------
    shortcuts : sequence of Shortcut
        Default :data:`SHORTCUTS`, the explorer's.

    Returns
    -------
    str
        A ``<table class="s2label-shortcuts">`` and a line saying Ctrl is Cmd on macOS.

    Examples
    --------
    >>> table = help_html()
    >>> table.startswith('<table class="s2label-shortcuts">'), "<kbd>Ctrl+Shift+Z</kbd> / <kbd>Ctrl+Y</kbd>" in table
    (True, True)
    """
    rows: dict[str, list[str]] = {}
    for shortcut in shortcuts:
        rows.setdefault(shortcut.description, []).append(combo(shortcut))
    esc = lambda s: html.escape(s, quote=True)
    body = "".join(f'<tr><td style="padding:1px 8px 1px 0;white-space:nowrap">'
                   f'{" / ".join(f"<kbd>{esc(c)}</kbd>" for c in combos)}</td><td>{esc(description)}</td></tr>'
                   for description, combos in rows.items())
    return (f'<table class="s2label-shortcuts"><tr><th style="text-align:left">keys</th>'
            f'<th style="text-align:left">action</th></tr>{body}</table>'
            f'<div style="font-size:smaller">Ctrl is Cmd on macOS; keys work while the pointer is over the map.</div>')


class KeyboardShortcuts:
    """Calls the explorer's handlers for the shortcuts pressed over a widget (through :mod:`ipyevents`).

    Parameters
    ----------
    source : ipywidgets.DOMWidget
        The widget whose key presses are watched (the map). While the pointer is over it, every key goes to
        Python and none to JupyterLab (see the module's notes).
    handlers : mapping of str to callable
        Action name to a function. An action is looked up as it is first (``"undo"``, ``"mode:assign"``:
        called with no argument); an action ``"prefix:arg"`` without its own handler then goes to
        ``handlers["prefix"]``, called with ``"arg"`` (so ``{"mode": explorer.set_mode}`` serves every
        ``"mode:*"`` shortcut). Actions with no handler are ignored.
    shortcuts : sequence of Shortcut
        The table (default :data:`SHORTCUTS`).

    Attributes
    ----------
    event : ipyevents.Event
        The event widget: ``keydown`` with ``prevent_default_action`` and ``ignore_modifier_key_events``.
    last_action : str or None
        The action most recently dispatched to a handler (None before any).

    Examples
    --------
    >>> import ipywidgets
    >>> modes = []
    >>> keys = KeyboardShortcuts(ipywidgets.Label(), {"mode": modes.append, "undo": lambda: modes.append("undo")})
    >>> keys.handle({"type": "keydown", "key": "a"}), keys.handle({"type": "keydown", "key": "z", "ctrlKey": True})
    ('mode:assign', 'undo')
    >>> keys.handle({"type": "keydown", "key": "n"}) is None, modes, keys.last_action     # no "next" handler
    (True, ['assign', 'undo'], 'undo')
    >>> keys.close()
    """

    def __init__(self, source: ipywidgets.DOMWidget, handlers: Mapping[str, Callable[..., Any]],
                 shortcuts: tuple[Shortcut, ...] | list[Shortcut] = SHORTCUTS) -> None:
        import ipyevents

        if not isinstance(source, ipywidgets.DOMWidget):
            raise TypeError(f"source must be an ipywidgets.DOMWidget, got {type(source).__name__}")
        for name, handler in handlers.items():
            if not callable(handler):
                raise TypeError(f"the handler for {name!r} is not callable: {handler!r}")
        seen: dict[tuple[str, bool, bool], str] = {}
        for shortcut in shortcuts:
            lookup = _lookup_key(shortcut.key, shortcut.ctrl, shortcut.shift)
            if lookup in seen and seen[lookup] != shortcut.action:
                raise ValueError(f"{combo(shortcut)} is bound to both {seen[lookup]!r} and {shortcut.action!r}")
            seen[lookup] = shortcut.action
        self.source = source
        self.handlers: dict[str, Callable[..., Any]] = dict(handlers)
        self.shortcuts: tuple[Shortcut, ...] = tuple(shortcuts)
        self.last_action: str | None = None
        self.event = ipyevents.Event(source=source, watched_events=["keydown"], prevent_default_action=True,
                                     ignore_modifier_key_events=True)
        self.event.on_dom_event(self.handle)

    def handle(self, event: Mapping[str, Any]) -> str | None:
        """Dispatch one key event: the action run, or ``None`` (no shortcut, or no handler for its action)."""
        action = match(event, self.shortcuts)
        if action is None:
            return None
        if action in self.handlers:
            self.handlers[action]()
        else:
            prefix, sep, arg = action.partition(":")
            if not sep or prefix not in self.handlers:
                return None
            self.handlers[prefix](arg)
        self.last_action = action
        return action

    def close(self) -> None:
        """Stop watching: remove the callback and close the event widget."""
        self.event.reset_callbacks()
        self.event.close()
