"""A real-browser harness for widget tests: a throw-away JupyterLab server driven by Debian's headless chromium.

Fixtures (re-exported by ``tests/widget/conftest.py``; a test elsewhere imports them the same way)::

    jupyter_server     session   a running ``jupyter lab`` (JupyterServer: url, token, root_dir, api(), ...)
    chromium_browser   session   Playwright's chromium (/usr/bin/chromium, headless)
    browser_page       function  a fresh 1400 x 1000 page; the server's kernels are shut down afterwards

Helpers (sync Playwright; every timeout is in seconds)::

    write_notebook(server, name, cells)     -> Path   a v4.5 notebook of code cells, kernel python3
    open_notebook(page, server, name)       -> Locator  the notebook panel, once its kernel is idle
    run_all_cells(page)                              run every cell, wait for the end, fail on any error
    wait_for(page, selector)                -> Locator  the first match once visible
    wait_for_text(page, selector, pattern)  -> str    the element's text once it matches ``pattern``
    steady_box(page, selector)              -> dict   scrolled to the middle, focused, not moving: its box
    click_at(page, selector, fx, fy)        -> (x, y) a real click at a fraction of the element's box
    assert_no_errors(page) / cell_errors(page)       error outputs of the open notebook
    execute_command(page, command_id, args)          run a JupyterLab command (window.jupyterapp)
    screenshot(page, path)                  -> Path

Everything Jupyter writes (config, data, runtime, lab settings and workspaces, IPython profile) goes to a
temporary folder; the only kernel is ``python3`` = this interpreter (``sys.executable``). Tests skip when
chromium or playwright is missing (``make test`` installs chromium).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

#: Exactly these flags: without the background-networking ones chromium floods refused connections.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 1000}
KERNEL_NAME = "python3"
STARTUP_TIMEOUT = 60.0

#: Browser console errors of each open page, for failure messages.
_CONSOLE: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()
#: The session's server, so that failure messages can show its log (kernel tracebacks end up there).
_ACTIVE: list[JupyterServer] = []


# --- the server ---------------------------------------------------------------------------------------

@dataclass
class JupyterServer:
    """A running ``jupyter lab``; ``url`` has no trailing slash, ``root_dir`` is where notebooks go."""

    url: str
    token: str
    root_dir: Path
    home: Path
    log_path: Path
    proc: subprocess.Popen = field(repr=False)

    def api(self, path: str, method: str = "GET", body: Any = None, timeout: float = 10.0) -> Any:
        """Call the REST API (``path`` like ``/api/kernels``); returns the decoded JSON (None if empty)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def lab_url(self, path: str = "", workspace: str | None = None) -> str:
        """URL of ``/lab/tree/{path}`` (in ``workspace`` if given), token included."""
        ws = f"/workspaces/{quote(workspace)}" if workspace else ""
        tree = f"/tree/{quote(path)}" if path else ""
        return f"{self.url}/lab{ws}{tree}?token={self.token}"

    def kernels(self) -> list[dict]:
        return self.api("/api/kernels")

    def shutdown_kernels(self) -> None:
        """Close every session and kernel (the notebooks stay on disk)."""
        try:
            for s in self.api("/api/sessions"):
                self.api(f"/api/sessions/{s['id']}", method="DELETE")
            for k in self.api("/api/kernels"):
                self.api(f"/api/kernels/{k['id']}", method="DELETE")
        except (OSError, urllib.error.URLError):
            pass

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def require_browser() -> str:
    """The chromium executable; skips the calling test when chromium or playwright is missing."""
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("chromium is not installed (make test installs it: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not importable (pip install -e '.[dev]')")
    return exe


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1))


def _prepare_home(home: Path) -> dict[str, str]:
    """Make the private Jupyter folders and settings under ``home``; returns the environment to run in."""
    dirs = {name: home / name for name in ("config", "data", "runtime", "lab-settings", "lab-workspaces",
                                           "ipython", "notebooks")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    # the only python3 kernel: this interpreter (JUPYTER_PATH comes first in the kernelspec search)
    _write_json(dirs["data"] / "kernels" / KERNEL_NAME / "kernel.json", {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python",
        "metadata": {"debugger": True}})
    # no news, no update checks, no toasts over the page, no PyPI extension manager
    _write_json(dirs["config"] / "jupyter_lab_config.json", {"LabApp": {
        "news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly", "expose_app_in_browser": True}})
    _write_json(dirs["config"] / "labconfig" / "page_config.json",
                {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    _write_json(dirs["lab-settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
                {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_PATH=str(dirs["data"]), JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["lab-settings"]), JUPYTERLAB_WORKSPACES_DIR=str(dirs["lab-workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]), JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    for var in ("JUPYTER_TOKEN", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH"):
        env.pop(var, None)
    return env


def _wait_until_up(server: JupyterServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with code {server.proc.returncode}:\n{server.log_tail()}")
        try:
            if "started" in server.api(f"/api/status?token={server.token}", timeout=2):
                return
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = exc
        time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer /api/status within {timeout:.0f} s ({last!r}); log:\n"
                f"{server.log_tail()}")


def _stop(server: JupyterServer) -> None:
    import psutil

    try:
        procs = psutil.Process(server.proc.pid).children(recursive=True)
    except psutil.Error:
        procs = []
    server.shutdown_kernels()
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)
    # kernels run in their own sessions: kill any that outlived the server
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """``python -m jupyter lab`` on 127.0.0.1:free-port with a random token, in a private temp home."""
    require_browser()
    home = tmp_path_factory.mktemp("jupyter")
    env = _prepare_home(home)
    port, token = _free_port(), secrets.token_hex(16)
    log_path = home / "server.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={home / 'notebooks'}", "--ServerApp.terminals_enabled=False",
           "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI runners
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=home / "notebooks", start_new_session=True)
    server = JupyterServer(f"http://127.0.0.1:{port}", token, home / "notebooks", home, log_path, proc)
    try:
        _wait_until_up(server, STARTUP_TIMEOUT)
        argv = server.api("/api/kernelspecs")["kernelspecs"][KERNEL_NAME]["spec"]["argv"]
        if Path(argv[0]) != Path(sys.executable):
            pytest.fail(f"the server's {KERNEL_NAME} kernel runs {argv[0]}, not {sys.executable}")
        _ACTIVE.append(server)
        yield server
    finally:
        if server in _ACTIVE:
            _ACTIVE.remove(server)
        _stop(server)


# --- the browser --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Playwright's chromium: Debian's /usr/bin/chromium, headless, with ``CHROMIUM_ARGS``."""
    exe = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium_browser: Any, jupyter_server: JupyterServer) -> Iterator[Any]:
    """A fresh page (own context, 1400 x 1000); afterwards the server's kernels are shut down."""
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    messages: list[str] = []
    _CONSOLE[page] = messages
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    try:
        yield page
    finally:
        context.close()
        jupyter_server.shutdown_kernels()


# --- helpers ------------------------------------------------------------------------------------------

def write_notebook(server: JupyterServer, name: str, cells: Sequence[str]) -> Path:
    """Write code ``cells`` as the nbformat-4.5 notebook ``name`` (relative to the server root, may hold
    folders), with the python3 kernelspec in its metadata so that no "Select Kernel" dialog shows.
    Returns its path. (Plain JSON: importing nbformat costs seconds, jsonschema compiles grammars.)"""
    nb = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": KERNEL_NAME, "display_name": "Python 3 (ipykernel)",
                                    "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [{"cell_type": "code", "id": uuid.uuid4().hex[:8], "metadata": {}, "execution_count": None,
                   "outputs": [], "source": src} for src in cells],
    }
    path = server.root_dir / name
    _write_json(path, nb)
    return path


def _diagnostics(page: Any) -> str:
    parts = []
    console = _CONSOLE.get(page) or []
    if console:
        parts.append("browser console errors:\n" + "\n".join(console[-20:]))
    if _ACTIVE:
        parts.append("jupyter server log (kernel stderr included):\n" + _ACTIVE[-1].log_tail(40))
    return "\n\n".join(parts)


# JS: the NotebookPanel showing `path` (or, without a path, the current notebook).
_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  const isNb = (w) => w && w.content && w.sessionContext && w.context && w.content.model !== undefined;
  if (!path) {
    const w = app.shell.currentWidget;
    if (isNb(w)) return w;
  }
  for (const w of app.shell.widgets('main')) {
    if (isNb(w) && (!path || w.context.path === path)) return w;
  }
  return null;
};
"""

_KERNEL_STATE = _FIND_PANEL + """
const p = findPanel(path);
if (!window.jupyterapp) return 'no-jupyterapp';
if (!p) return 'no-panel';
if (!p.context.isReady) return 'document-loading';
const sc = p.sessionContext;
if (!sc.isReady) return 'session-starting';
const k = sc.session && sc.session.kernel;
if (!k) return 'no-kernel';
if (k.connectionStatus !== 'connected') return 'kernel-' + k.connectionStatus;
if (k.status !== 'idle') return 'kernel-' + k.status;
return 'idle';
"""


def _kernel_state(page: Any, path: str | None) -> str:
    return page.evaluate(f"(path) => {{ {_KERNEL_STATE} }}", path)


def _accept_dialog(page: Any) -> bool:
    """Accept a modal dialog (e.g. "Select Kernel") if one is showing."""
    button = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if button.count() and button.first.is_visible():
        button.first.click()
        return True
    return False


def wait_kernel_idle(page: Any, path: str | None = None, timeout: float = 60.0) -> None:
    """Wait until the notebook ``path`` (default: the current one) has a connected, idle kernel,
    accepting a "Select Kernel" dialog on the way."""
    deadline = time.monotonic() + timeout
    state = "?"
    while time.monotonic() < deadline:
        state = _kernel_state(page, path)
        if state == "idle":
            return
        if state in ("session-starting", "no-kernel"):
            _accept_dialog(page)
        page.wait_for_timeout(100)
    pytest.fail(f"kernel of {path or 'the current notebook'} not idle after {timeout:.0f} s (state: {state})\n"
                f"{_diagnostics(page)}")


def open_notebook(page: Any, server: JupyterServer, name: str, timeout: float = 60.0) -> Any:
    """Open ``name`` in a fresh JupyterLab workspace and wait until the notebook is shown and its kernel is
    idle. Returns the notebook panel's Locator."""
    page.goto(server.lab_url(name, workspace=f"t{uuid.uuid4().hex[:10]}"), wait_until="domcontentloaded")
    panel = wait_for(page, ".jp-NotebookPanel", timeout)
    wait_kernel_idle(page, name, timeout)
    page.evaluate(f"(path) => {{ {_FIND_PANEL} const p = findPanel(path); "
                  "window.jupyterapp.shell.activateById(p.id); }", name)
    return panel


def execute_command(page: Any, command: str, args: dict | None = None) -> None:
    """Start the JupyterLab command ``command`` (e.g. ``notebook:run-all-cells``) without waiting for it."""
    page.evaluate("([c, a]) => { window.__s2l_cmd = null; window.jupyterapp.commands.execute(c, a || {})"
                  ".then(r => { window.__s2l_cmd = {ok: true, result: String(r)}; },"
                  "      e => { window.__s2l_cmd = {ok: false, result: String(e)}; }); }", [command, args])


def cell_errors(page: Any) -> list[str]:
    """One text per cell of the current notebook whose outputs hold an error (ename, evalue, traceback) or a
    stderr stream with a traceback; ANSI colours stripped."""
    found = page.evaluate(f"""() => {{ {_FIND_PANEL}
      const p = findPanel(null);
      if (!p) return [];
      const out = [];
      p.content.widgets.forEach((cell, i) => {{
        const js = cell.model.toJSON();
        for (const o of js.outputs || []) {{
          if (o.output_type === 'error')
            out.push([i, js.source, o.ename + ': ' + o.evalue + '\\n' + (o.traceback || []).join('\\n')]);
          else if (o.output_type === 'stream' && o.name === 'stderr') {{
            const t = Array.isArray(o.text) ? o.text.join('') : o.text;
            if (/Traceback|^\\w+(Error|Exception): /m.test(t)) out.push([i, js.source, t]);
          }}
        }}
      }});
      return out;
    }}""")
    # without window.jupyterapp, fall back on what the page shows
    if not found and not page.evaluate("() => !!window.jupyterapp"):
        texts = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        found = [[-1, "", t] for t in texts.all_inner_texts() if "Traceback" in t or re.search(r"Error: ", t)]
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    return [f"cell {i}:\n{''.join(src) if isinstance(src, list) else src}\n---\n{ansi.sub('', text)}"
            for i, src, text in found]


def assert_no_errors(page: Any) -> None:
    """Fail the test, showing the cells and their tracebacks, if any output of the notebook is an error."""
    errors = cell_errors(page)
    if errors:
        pytest.fail("notebook cells raised:\n\n" + "\n\n".join(errors), pytrace=False)


def run_all_cells(page: Any, timeout: float = 120.0, check: bool = True) -> None:
    """Run every cell of the current notebook (``notebook:run-all-cells``), wait until the run is over, no
    prompt shows ``[*]`` and the kernel is idle; then, if ``check``, fail on any error output."""
    deadline = time.monotonic() + timeout
    execute_command(page, "notebook:run-all-cells")
    try:
        page.wait_for_function("() => window.__s2l_cmd !== null", timeout=timeout * 1000, polling=100)
    except Exception as exc:  # playwright's TimeoutError
        if check:
            assert_no_errors(page)
        pytest.fail(f"cells still running after {timeout:.0f} s ({type(exc).__name__})\n{_diagnostics(page)}")
    result = page.evaluate("() => window.__s2l_cmd")
    if not result["ok"]:
        pytest.fail(f"notebook:run-all-cells failed: {result['result']}\n{_diagnostics(page)}")
    remaining = max(deadline - time.monotonic(), 5.0)
    try:
        page.wait_for_function("""() => ![...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]
                                   .some(e => e.textContent.includes('[*]'))""",
                               timeout=remaining * 1000, polling=100)
    except Exception:
        pytest.fail(f"a cell still shows [*] after {timeout:.0f} s\n{_diagnostics(page)}")
    wait_kernel_idle(page, None, max(deadline - time.monotonic(), 5.0))
    if check:
        assert_no_errors(page)


def wait_for(page: Any, selector: str, timeout: float = 30.0, state: str = "visible") -> Any:
    """The first element matching ``selector`` once it is ``state`` (visible, attached, hidden, detached)."""
    loc = page.locator(selector).first
    try:
        loc.wait_for(state=state, timeout=timeout * 1000)
    except Exception as exc:  # playwright's TimeoutError
        errors = cell_errors(page) if page.evaluate("() => !!window.jupyterapp") else []
        pytest.fail(f"{selector!r} not {state} after {timeout:.0f} s ({type(exc).__name__})\n"
                    + ("notebook errors:\n" + "\n\n".join(errors) + "\n" if errors else "")
                    + _diagnostics(page))
    return loc


def wait_for_text(page: Any, selector: str, pattern: str, timeout: float = 30.0) -> str:
    """The text of the first ``selector`` match once it matches the regular expression ``pattern``."""
    loc = wait_for(page, selector, timeout)
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = loc.inner_text()
        if rx.search(text):
            return text
        page.wait_for_timeout(50)
    pytest.fail(f"{selector!r} shows {text!r}, not /{pattern}/, after {timeout:.0f} s\n{_diagnostics(page)}")


def steady_box(page: Any, selector: str, timeout: float = 10.0, frames: int = 3) -> dict:
    """Scroll the first ``selector`` match to the middle of its scroll container, focus it (or its closest
    focusable ancestor, e.g. the ``.leaflet-container``) without scrolling, and wait until its bounding box
    stays the same for ``frames`` animation frames; returns that box (viewport pixels, ``x y width height``).

    Why: the mousedown of a click focuses a focusable element (a Leaflet map has ``tabindex``), and chromium
    then scrolls the notebook to reveal it *between* mousedown and click, so the click lands on another
    point than the one aimed at (an ipyleaflet map only partly inside the viewport reads a latitude tens of
    pixels off)."""
    loc = wait_for(page, selector, timeout)
    loc.evaluate("""el => {
      el.scrollIntoView({block: 'center', inline: 'center'});
      const f = el.closest('[tabindex], a[href], button, input, select, textarea');
      if (f) f.focus({preventScroll: true});
    }""")
    deadline = time.monotonic() + timeout
    last, same = None, 0
    while time.monotonic() < deadline:
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        box = loc.bounding_box()
        same = same + 1 if box is not None and box == last else 0
        if same >= frames:
            return box
        last = box
    pytest.fail(f"{selector!r} still moving after {timeout:.0f} s (last box {last})\n{_diagnostics(page)}")


def click_at(page: Any, selector: str, fx: float = 0.5, fy: float = 0.5, timeout: float = 10.0) -> tuple[float, float]:
    """Click the first ``selector`` match at the fraction ``(fx, fy)`` of its box (0, 0 = top left), with a
    real mouse event at exact coordinates (no actionability checks, so it works on ``pointer-events: none``
    layers such as a Leaflet image overlay); returns the viewport point clicked."""
    box = steady_box(page, selector, timeout)
    x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
    page.mouse.click(x, y)
    return x, y


def screenshot(page: Any, path: str | os.PathLike, full_page: bool = False) -> Path:
    """Save a PNG of the page at ``path`` (folders made); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def tag_label_overlay(page: Any, map_selector: str, timeout: float = 30.0) -> None:
    """Mark the explorer's label overview (``data-s2l="labels"``): of the map's PNG overlays, the one with the
    largest image (the others are empty 1 x 1 pictures until something is selected or zoomed in)."""
    wait_for(page, f"{map_selector} img.leaflet-image-layer[src^='data:image/png']", timeout, state="attached")
    page.wait_for_function("""(sel) => {
      const imgs = [...document.querySelectorAll(sel + " img.leaflet-image-layer")]
        .filter(e => e.src.startsWith("data:image/png") && e.naturalWidth > 1);
      if (!imgs.length) return false;
      imgs.sort((a, b) => b.naturalWidth * b.naturalHeight - a.naturalWidth * a.naturalHeight);
      imgs[0].setAttribute("data-s2l", "labels");
      return true;
    }""", arg=map_selector, timeout=timeout * 1000, polling=100)
