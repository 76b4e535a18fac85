"""Browser fixtures for the widget tests: a private JupyterLab server and headless chromium (tests/_jupyter.py)."""

from tests._jupyter import browser_page, chromium_browser, jupyter_server  # noqa: F401
