"""Browser tests: the real app on a free localhost port, driven by Debian's chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """A `streamlit run` process on 127.0.0.1 reading one database file."""

    def __init__(self, db_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CHUANGWEN_DB": str(db_path)}
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = open(ARTIFACTS / f"server-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                "--server.port", str(self.port), "--server.address", "127.0.0.1",
                "--server.headless", "true", "--browser.gatherUsageStats", "false",
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not start; see " + self.log.name)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def browser_tiny_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's own copy of the session's tiny snapshot (the server process opens it)."""
    path = tmp_path_factory.mktemp("browser") / "tiny.duckdb"
    shutil.copyfile(tiny_db, path)
    return path


@pytest.fixture(scope="session")
def app_server(browser_tiny_db: Path) -> Iterator[AppServer]:
    ARTIFACTS.mkdir(exist_ok=True)
    server = AppServer(browser_tiny_db)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def wait_until_idle(page: object, timeout_ms: int = 45000) -> None:
    """Wait until the script run is over: no status widget ("Running…/Stop") and no
    skeleton placeholders for a while, and the main area holds rendered elements."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    deadline = time.time() + timeout_ms / 1000
    quiet_since = None
    while time.time() < deadline:
        busy = (
            page.locator('[data-testid="stStatusWidget"]').count() > 0
            or page.locator('[data-testid="stSkeleton"]').count() > 0
        )
        rendered = page.locator('[data-testid="stMain"] [data-testid="stElementContainer"]').count()
        if not busy and rendered:
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 0.8:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(150)
    raise TimeoutError("the app did not finish running")


def external_requests(page: object, app_url: str) -> list[str]:
    """The requests a page made to any host other than the app's own server."""
    own = urllib.parse.urlsplit(app_url).netloc
    return [
        url
        for url in page.requests
        if urllib.parse.urlsplit(url).scheme in ("http", "https", "ws", "wss")
        and urllib.parse.urlsplit(url).netloc != own
    ]


@pytest.fixture()
def open_view(app_server: AppServer, chromium: object) -> Iterator[object]:
    """open_view(path_and_query, width, height) → a loaded Playwright page."""
    contexts = []

    def _open(path: str = "/", width: int = 1920, height: int = 1080) -> object:
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        # every request the page makes, so a test can check none leaves the app's server
        page.requests = []
        page.on("request", lambda request, log=page.requests: log.append(request.url))
        page.goto(app_server.url + path)
        wait_until_idle(page)
        return page

    yield _open
    for context in contexts:
        context.close()


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
