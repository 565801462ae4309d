"""The browser suite's parts, all real: the local server (the Lambda handlers
behind the local API Gateway, on DynamoDB Local) hosting the account page on
origin A; the same page on origin B (allowed, same site); a page on origin C
(not allowed, same site) that forges requests; and headless Chromium, one
profile per device."""

import http.server
import os
import secrets
import socket
import subprocess
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
PAGES = Path(__file__).resolve().parent / "pages"
SHOTS = ROOT / "target" / "browser"

# Short access tokens so the client's refresh-before-expiry runs within a
# test; no reuse grace, so two refreshes with one cookie (a coordination bug)
# are a replay that ends the session instead of being forgiven.
ACCESS_TTL_SECS = 8
SERVER_ENV = {
    "ACCESS_TOKEN_TTL_SECS": str(ACCESS_TTL_SECS),
    "REFRESH_REUSE_GRACE_SECS": "0",
    "REGISTER_MAX_PER_IP": "100000",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, process, log, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port}")


class Origins:
    def __init__(self):
        self.api_port, self.b_port, self.c_port = free_port(), free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.b = f"http://127.0.0.1:{self.b_port}"
        self.c = f"http://127.0.0.1:{self.c_port}"


@pytest.fixture(scope="session")
def origins():
    return Origins()


@pytest.fixture(scope="session")
def api(origins):
    """The local server on origin A, with the account page and CORS for A and B."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    suffix = secrets.token_hex(6)
    env = dict(os.environ)
    env.update(SERVER_ENV)
    env.update({
        "PORT": str(origins.api_port),
        "TABLE_NAME": f"browser-{suffix}",
        "TODOS_TABLE_NAME": f"browser-todos-{suffix}",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_ISSUER": origins.api,
        "WEB_ROOT": str(WEB),
        "CORS_ALLOWED_ORIGINS": f"{origins.api},{origins.b}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": "us-east-1",
    })
    env.pop("KEYS_SECRET_ARN", None)
    log = SHOTS / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [os.environ["TOKENGATE_LOCAL_BIN"]], env=env, stdout=out, stderr=out, cwd=ROOT
        )
    try:
        wait_port(origins.api_port, process, log)
        yield origins.api
    finally:
        process.terminate()
        process.wait(timeout=10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def static_server(directory, port):
    handler = partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def origin_b(origins, api):
    """The account page hosted on another origin of the same site (allowed)."""
    server = static_server(WEB, origins.b_port)
    yield origins.b
    server.shutdown()


@pytest.fixture(scope="session")
def origin_c(origins, api):
    """An origin that is not allowed: the account page and a forging page."""
    root = Path(tempfile.mkdtemp(prefix="origin-c-"))
    for source in [*WEB.iterdir(), *PAGES.iterdir()]:
        (root / source.name).write_bytes(source.read_bytes())
    server = static_server(root, origins.c_port)
    yield origins.c
    server.shutdown()


def chrome_options(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1100,900",
        # Timers in a tab in the background run on time, so that two tabs
        # can act at one instant (the two-tab refresh test).
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        f"--user-data-dir={profile}",
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@pytest.fixture
def device():
    """A factory of browsers, each its own profile (cookie jar): a device."""
    drivers = []

    def start():
        profile = tempfile.mkdtemp(prefix="chromium-")
        driver = webdriver.Chrome(
            options=chrome_options(profile),
            service=Service(executable_path="/usr/bin/chromedriver"),
        )
        driver.set_script_timeout(30)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


def shot(driver, name):
    """A screenshot under target/browser/ for the record."""
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
