"""Fixtures of the web tests: the browser tests' demo `server` and Chromium `page` (modules with a `server` of their
own, such as the serving tests, override it)."""

from tests.webui.browser.chromium import page, server  # noqa: F401
