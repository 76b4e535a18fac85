"""Keyboard shortcuts: matching of ipyevents key-event dicts, dispatch to handlers (counted), the help table,
and the ipyevents widget's settings (no browser: events are the dicts ipyevents would send)."""

from __future__ import annotations

import collections
from html.parser import HTMLParser

import ipyevents
import ipywidgets
import pytest

from s2label.widget.shortcuts import SHORTCUTS, KeyboardShortcuts, Shortcut, combo, help_html, match


def key(k: str, *, ctrl: bool = False, shift: bool = False, meta: bool = False, alt: bool = False,
        type: str = "keydown", **extra) -> dict:
    """An event as ipyevents sends it for a key press."""
    return {"type": type, "event": type, "key": k, "code": f"Key{k.upper()}", "ctrlKey": ctrl, "shiftKey": shift,
            "metaKey": meta, "altKey": alt, "repeat": False, "location": 0, "timeStamp": 1.0,
            "target": {"tagName": "DIV", "id": "", "className": "leaflet-container"}, **extra}


@pytest.mark.parametrize("event,action", [
    (key("z", ctrl=True), "undo"),
    (key("Z", ctrl=True), "undo"),                         # caps lock
    (key("z", meta=True), "undo"),                         # Cmd on macOS
    (key("Z", ctrl=True, shift=True), "redo"),
    (key("z", meta=True, shift=True), "redo"),
    (key("y", ctrl=True), "redo"),
    (key("n"), "next"),
    (key("N"), "next"),
    (key("i"), "mode:inspect"),
    (key("a"), "mode:assign"),
    (key("p"), "mode:polygon"),
    (key("s"), "mode:similar"),
    (key("Escape"), "clear"),
    (key("0"), "zoom to scene"),
    (key("?", shift=True), "help"),
    (key("?"), "help"),
])
def test_match(event, action):
    assert match(event) == action


@pytest.mark.parametrize("event", [
    key("z", ctrl=True, alt=True),                         # Alt: never a shortcut
    key("?", shift=True, alt=True),
    key("z"),                                              # undo needs Ctrl
    key("n", ctrl=True),                                   # plain-key shortcuts not with Ctrl
    key("N", shift=True),                                  # nor with Shift
    key("y", ctrl=True, shift=True),
    key("q"),
    key("Control", ctrl=True),
    key("F1"),
    key("z", ctrl=True, type="keyup"),
    key("a", target={"tagName": "INPUT"}),                 # typed into a text field
    key("a", target={"tagName": "textarea"}),
    {"type": "keydown"},
    {"type": "keydown", "key": ""},
])
def test_no_match(event):
    assert match(event) is None


def test_match_minimal_dict_and_custom_table():
    assert match({"key": "z", "ctrlKey": True}) == "undo"             # missing type and flags
    table = (Shortcut("ArrowRight", False, False, "pan", "pan"), Shortcut("K", False, True, "big", "big K"))
    assert match(key("ArrowRight"), table) == "pan"
    assert match(key("k", shift=True), table) == match(key("K", shift=True), table) == "big"
    assert match(key("z", ctrl=True), table) is None


def test_default_table():
    assert all(isinstance(s, Shortcut) for s in SHORTCUTS)
    actions = collections.Counter(s.action for s in SHORTCUTS)
    assert actions == {"undo": 1, "redo": 2, "next": 1, "mode:inspect": 1, "mode:assign": 1, "mode:polygon": 1,
                       "mode:similar": 1, "clear": 1, "zoom to scene": 1, "help": 1}
    with pytest.raises(AttributeError):
        SHORTCUTS[0].key = "x"                                        # frozen


class Counter:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, *args) -> None:
        self.calls.append(args)


def test_keyboard_shortcuts_dispatch_and_counts():
    handlers = {name: Counter() for name in ("undo", "redo", "next", "clear", "help", "mode")}
    handlers["mode:polygon"] = Counter()                               # an exact handler wins over "mode"
    source = ipywidgets.Box()
    keys = KeyboardShortcuts(source, handlers)
    assert keys.last_action is None
    presses = [key("z", ctrl=True), key("z", ctrl=True), key("Z", ctrl=True, shift=True), key("y", meta=True),
               key("n"), key("Escape"), key("?", shift=True), key("a"), key("i"), key("s"), key("p"),
               key("0"),                                               # no "zoom to scene" handler: ignored
               key("q"), key("z", ctrl=True, alt=True)]               # no shortcut
    results = [keys.handle(e) for e in presses]
    assert results == ["undo", "undo", "redo", "redo", "next", "clear", "help", "mode:assign", "mode:inspect",
                       "mode:similar", "mode:polygon", None, None, None]
    assert len(handlers["undo"].calls) == 2 and handlers["undo"].calls[0] == ()
    assert len(handlers["redo"].calls) == 2
    assert [len(handlers[n].calls) for n in ("next", "clear", "help")] == [1, 1, 1]
    assert handlers["mode"].calls == [("assign",), ("inspect",), ("similar",)]
    assert handlers["mode:polygon"].calls == [()]
    assert keys.last_action == "mode:polygon"                          # the ignored presses left it alone
    keys.close()


def test_keyboard_shortcuts_event_widget():
    source = ipywidgets.HTML("map")
    undo = Counter()
    keys = KeyboardShortcuts(source, {"undo": undo})
    assert isinstance(keys.event, ipyevents.Event)
    assert keys.event.source is source
    assert keys.event.watched_events == ["keydown"]
    assert keys.event.prevent_default_action and keys.event.ignore_modifier_key_events
    keys.event._dom_handlers(key("z", ctrl=True))                      # what a message from the browser runs
    assert undo.calls == [()] and keys.last_action == "undo"
    keys.close()
    keys.event._dom_handlers(key("z", ctrl=True))
    assert undo.calls == [()]                                          # closed: no more dispatch


def test_keyboard_shortcuts_checks():
    with pytest.raises(TypeError):
        KeyboardShortcuts(ipywidgets.Box(), {"undo": "not callable"})
    with pytest.raises(TypeError):
        KeyboardShortcuts("not a widget", {})
    clash = (Shortcut("x", False, False, "one", "1"), Shortcut("X", False, False, "two", "2"))
    with pytest.raises(ValueError, match="X"):
        KeyboardShortcuts(ipywidgets.Box(), {}, clash)


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_help_html_lists_every_shortcut():
    parser = _Cells()
    parser.feed(help_html())
    header, *rows = parser.rows
    assert header == ["keys", "action"]
    table = dict(rows)
    for shortcut in SHORTCUTS:
        assert any(combo(shortcut) in keys.split(" / ") and description == shortcut.description
                   for keys, description in table.items()), shortcut
    assert table["Ctrl+Shift+Z / Ctrl+Y"] == "redo the edit undone last"
    assert {"Ctrl+Z", "N", "I", "A", "P", "S", "Esc", "0", "?"} <= set(table)
    assert len(rows) == len(SHORTCUTS) - 1                             # the two redo combos share a row
    custom = help_html((Shortcut("<", False, False, "x", 'a "quoted" & <b>'),))
    assert "<b>" not in custom and "&lt;b&gt;" in custom and "<kbd>&lt;</kbd>" in custom
