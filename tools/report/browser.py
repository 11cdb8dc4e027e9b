"""Headless Chromium for the report page's checks (check_page.py, page_timing.py).

Debian's `chromium` and `chromium-driver`, driven by selenium. Nothing is
downloaded: the driver and the browser are the system's (selenium's own
driver manager is not used), and the browser starts with its background
networking off. `Unavailable` says why the browser cannot be used (what is
missing and how tools/test installs it); callers turn it into a skip.
"""

import os
import shutil
import tempfile
from contextlib import contextmanager

SKIP_STATUS = 77


class Unavailable(Exception):
    """The browser cannot be used here; the message says why."""


def _executable(names, paths):
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    for path in paths:
        if os.access(path, os.X_OK):
            return path
    return None


def locate():
    """(chromium, chromedriver) paths, or Unavailable with the reason."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        raise Unavailable("the Python package selenium is not installed "
                          "(tools/test installs it with pip into .build-python)")
    chromium = _executable(["chromium", "chromium-browser"], ["/usr/lib/chromium/chromium"])
    driver = _executable(["chromedriver"], ["/usr/lib/chromium/chromedriver"])
    if chromium is None:
        raise Unavailable("chromium is not installed (tools/test installs Debian's chromium "
                          "and chromium-driver with apt-get; it needs root or sudo)")
    if driver is None:
        raise Unavailable("chromedriver is not installed (tools/test installs Debian's "
                          "chromium-driver with apt-get; it needs root or sudo)")
    return chromium, driver


@contextmanager
def chromium(width=1400, height=1000):
    """A headless Chromium session (selenium WebDriver), closed on exit."""
    chromium_path, driver_path = locate()
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium: never fetch a driver
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="txw-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium_path
        for argument in [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps",
            "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
            f"--window-size={width},{height}", f"--user-data-dir={profile}",
        ]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        except WebDriverException as error:
            first = (error.msg or str(error)).strip().splitlines()[0] if (error.msg or str(error)) else "?"
            raise Unavailable(f"chromium did not start under chromedriver: {first}")
        try:
            yield driver
        finally:
            driver.quit()


def open_page(driver, path, timeout=30):
    """Navigates to the page at `path` and waits until its heatmaps are drawn
    (`data-drawn` on the root element) or a script error is recorded."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("file://" + os.path.abspath(path))
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "var r=document.documentElement;return r.hasAttribute('data-drawn')||r.hasAttribute('data-errors');"))
