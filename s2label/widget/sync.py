"""Keeping an explorer in step with every other window on its session's store.

Each :class:`~s2label.session.LabelSession` catches up with its store before every edit (so no edit is ever
written over one it has not seen); the explorer also *polls*: once a second a background thread asks the store
whether another window wrote to it (one row read) and, if so, brings the edits in, so two explorers on one run
show each other's edits within about a second. The *Refresh* button (⟳) does the same at once.

Examples
--------
>>> import threading, weakref
>>> class Quiet:
...     session = type("S", (), {"behind": False, "autosave_path": None})()
>>> stop = threading.Event(); stop.set()
>>> poll_store(weakref.ref(Quiet()), stop, 0.01)  # returns at once: stopped
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import ipywidgets as w

from s2label.errors import S2LabelError

__all__ = ["StoreSync", "poll_store", "POLL_SECONDS"]

#: How often an explorer asks its store whether another window wrote to it.
POLL_SECONDS = 1.0


def poll_store(ref: weakref.ReferenceType[Any], stop: threading.Event, every: float) -> None:
    """Until ``stop`` is set or the explorer is gone: every ``every`` seconds, bring in other windows' edits.

    Runs in a thread of its own; an :class:`~s2label.errors.S2LabelError` is shown in the explorer, any other
    error ends the polling.

    Parameters
    ----------
    ref : weakref.ref
        To the explorer (with ``session`` and ``say``), so that polling does not keep it alive.
    stop : threading.Event
        Set to stop polling.
    every : float
        Seconds between polls.
    """
    while not stop.wait(every):
        explorer = ref()
        if explorer is None:
            return
        try:
            if explorer.session.behind:
                explorer.session.sync()  # observers redraw the explorer (in this thread, under its redraw lock)
        except S2LabelError as exc:
            explorer.say(f"could not bring in the other windows' edits: {exc}", error=True)
        except Exception:  # noqa: BLE001 - a store closed under it: polling ends, the next edit still syncs
            return
        del explorer


class StoreSync:
    """The *Refresh* button and the polling thread (a mixin of :class:`~s2label.widget.ClusterExplorer`)."""

    session: Any
    say: Any
    _run: Any

    def _build_sync(self) -> None:
        self.refresh_button = w.Button(icon="refresh", tooltip="bring in other windows' edits now (the explorer "
                                       "also does every second)", layout=w.Layout(width="32px", padding="0"))
        self.refresh_button.on_click(lambda _: self.bring_in())
        self._poll_stop = threading.Event()
        self._poller: threading.Thread | None = None

    def _start_polling(self, poll: float | None) -> None:
        self._poll_every = poll
        self._poll_stop = threading.Event()
        if poll is not None and self.session.autosave_path is not None:
            self._poller = threading.Thread(target=poll_store, args=(weakref.ref(self), self._poll_stop, poll),
                                            name="s2label-store-poll", daemon=True)
            self._poller.start()

    def bring_in(self) -> bool:
        """Bring in what other windows wrote to the session's store now; whether anything came."""
        changed = self._run(self.session.sync)
        if changed is False:
            self.say("up to date: no other window changed this session")
        return bool(changed)

    def stop_polling(self) -> None:
        self._poll_stop.set()
