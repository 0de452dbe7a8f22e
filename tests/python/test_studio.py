"""Pixelsmith Studio in a real browser: Debian's headless Chromium driven by PyPI `selenium`.

- Gateway: the page served by `pixelsmith run-local` (the runner emulation + the real module) and by
  `pixelsmith gateway --runner URL`: upload a bundled image, change palette and block size, read the
  preview's pixels, download and compare with the CLI's bytes, a non-image upload, the health badge
  turning red when the runner stops, zoom, before/after, phone width, dark mode, labels.
- MCP App: tests/studio/host.mjs serves a host page that reads `ui://pixelsmith/studio` from the real
  `pixelsmith mcp` with the official MCP client and plays the host with ext-apps' AppBridge; the view
  initialises, renders the `pixelate` result the host sends, and a control change makes a
  `tools/call` that reaches the server (the file it writes changes).

Needs chromium + chromium-driver (apt), `npm ci --prefix tests/studio`, and `cargo build`; `.ci/run`
installs them. Locally, without them and without CI set, the tests skip; in CI they fail.
Writes a screenshot of the page to target/studio.png.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BIN = Path(os.environ.get("PIXELSMITH_BIN", TARGET / "debug" / "pixelsmith"))
WASM = Path(os.environ.get("PIXELSMITH_WASM", TARGET / "wasm32-wasip1" / "release" / "wasm-service.wasm"))
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
HOST_DIR = REPO / "tests" / "studio"
SCREENSHOT = REPO / "target" / "studio.png"
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
    "--disable-component-update --disable-sync --window-size=1280,900"
).split()
PICO_8 = {
    "#000000", "#1d2b53", "#7e2553", "#008751", "#ab5236", "#5f574f", "#c2c3c7", "#fff1e8",
    "#ff004d", "#ffa300", "#ffec27", "#00e436", "#29adff", "#83769c", "#ff77a8", "#ffccaa",
}  # fmt: skip
GAME_BOY = {"#0f380f", "#306230", "#8bac0f", "#9bbc0f"}


def missing(what: str) -> None:
    """No silent skips in CI: a missing tool fails there, and skips only on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (bash .ci/run installs it)")
    pytest.skip(what)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the machine
    webdriver = None


@pytest.fixture(scope="module")
def browser():
    if webdriver is None:
        missing("PyPI selenium is not installed")
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        missing(f"{CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)")
    downloads = Path(tempfile.mkdtemp(prefix="studio-downloads-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="studio-chromium-"))
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    yield driver
    driver.quit()
    shutil.rmtree(downloads, ignore_errors=True)


@pytest.fixture(scope="module")
def module_wasm() -> Path:
    if "PIXELSMITH_WASM" not in os.environ:
        subprocess.run(
            ["cargo", "build", "-p", "wasm-service", "--target", "wasm32-wasip1", "--release"],
            cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
    assert WASM.is_file(), f"{WASM} is missing"
    return WASM


def binary() -> Path:
    if not BIN.is_file():
        pytest.fail(f"{BIN} is missing: run `cargo build` first (or set PIXELSMITH_BIN)")
    return BIN


class Served:
    """A pixelsmith server process and the URLs it printed."""

    def __init__(self, args: list[str], labels: list[str], cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            [str(binary()), *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.urls: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while set(labels) - set(self.urls):
            line = self.proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"pixelsmith {' '.join(args)} did not print {labels}")
            parts = line.split()
            if len(parts) >= 2 and parts[0] in labels:
                self.urls[parts[0]] = parts[1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def local(module_wasm: Path):
    served = Served(["run-local", "--module", str(module_wasm)], ["runner", "gateway"])
    yield served
    served.stop()


def wait(driver, what, timeout: float = 30, message: str = ""):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: what(d), message)


def result_query(driver) -> str:
    return driver.find_element(By.ID, "result").get_attribute("data-query") or ""


def shown_pixels(driver) -> Image.Image:
    """The preview image as the page holds it, read back through a canvas."""
    data = driver.execute_script("""const img = document.getElementById('result');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        c.getContext('2d').drawImage(img, 0, 0);
        return c.toDataURL('image/png');""")
    return Image.open(io.BytesIO(base64.b64decode(data.split(",", 1)[1]))).convert("RGBA")


def assert_flat_blocks(image: Image.Image, block: int, palette: set[str]) -> None:
    """Every block×block cell (partial at the right and bottom) is one colour, from `palette`."""
    px = image.load()
    width, height = image.size
    seen = set()
    for top in range(0, height, block):
        for left in range(0, width, block):
            first = px[left, top]
            for y in range(top, min(top + block, height)):
                for x in range(left, min(left + block, width)):
                    assert px[x, y] == first, f"cell at ({left},{top}) is not flat: {px[x, y]} vs {first}"
            if first[3] == 255:
                seen.add("#{:02x}{:02x}{:02x}".format(*first[:3]))
            else:
                assert first[3] == 0, f"alpha must be binary, got {first}"
    assert seen <= palette, f"colours outside the palette: {sorted(seen - palette)}"
    assert len(seen) >= 2, seen


def http(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def cli_png(image: Path, *flags: str) -> bytes:
    out = Path(tempfile.mkdtemp()) / "cli.png"
    subprocess.run(
        [str(binary()), "pixelate", str(image), *flags, "-o", str(out)], check=True, capture_output=True
    )
    return out.read_bytes()


def set_number(driver, element_id: str, value: int) -> None:
    box = driver.find_element(By.ID, element_id)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value))


# ---------------------------------------------------------------------------------------------


def test_the_gateway_answers_browsers_with_the_page_and_curl_with_the_index(local: Served) -> None:
    gateway = local.urls["gateway"]
    status, headers, body = http(gateway + "/", headers={"accept": "text/html,*/*;q=0.8"})
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"Pixelsmith Studio" in body and len(body) <= 60 * 1024
    assert "connect-src 'self'" in headers["content-security-policy"]
    for accept in ("*/*", "application/json"):
        status, headers, body = http(gateway + "/", headers={"accept": accept})
        assert status == 200 and headers["content-type"].startswith("application/json"), accept
        assert "pixelate_options" in json.loads(body)


def test_upload_change_palette_and_block_read_pixels_and_download(browser, local: Served) -> None:
    gateway = local.urls["gateway"]
    horse = REPO / "fixtures" / "horse.png"
    browser.set_window_size(1280, 900)
    browser.get(gateway + "/")
    badge = browser.find_element(By.ID, "health")
    wait(browser, lambda d: badge.get_attribute("data-state") == "ok", message="health badge never turned ok")
    assert re.fullmatch(r"runner ok · \d+ ms", badge.text), badge.text
    assert "64 MiB" in browser.find_element(By.ID, "limits").text  # the limit, before any upload

    # Controls come from the module's index: one for every advertised option, `detail` only if listed.
    _, _, index = http(gateway + "/", headers={"accept": "application/json"})
    advertised = {o["name"] for o in json.loads(index)["pixelate_options"]}
    detail_row = browser.find_element(By.CSS_SELECTOR, "[data-opt=detail]")
    wait(browser, lambda d: detail_row.is_displayed() == ("detail" in advertised))
    for name in advertised - {"report", "detail"}:
        assert browser.find_elements(By.CSS_SELECTOR, f"[data-opt~={name}]"), f"no control for {name}"

    browser.find_element(By.ID, "file").send_keys(str(horse))
    wait(browser, lambda d: result_query(d) == "block=8&colors=16", message="first preview")
    Select(browser.find_element(By.ID, "colormode")).select_by_value("palette")
    Select(browser.find_element(By.ID, "palette")).select_by_value("pico-8")
    set_number(browser, "size", 12)
    wait(browser, lambda d: result_query(d) == "block=12&palette=pico-8", message="preview after the change")

    image = shown_pixels(browser)
    assert image.size == (400, 328)
    assert_flat_blocks(image, 12, PICO_8)
    facts = browser.find_element(By.ID, "facts").text
    assert "34×28 cells, block 12 px" in facts and "Fitted to 1 MiB" in facts, facts
    swatches = browser.find_element(By.ID, "palette-used").text.split()
    assert swatches and set(swatches) <= PICO_8, swatches

    expected = cli_png(horse, "--block", "12", "--palette", "pico-8")
    browser.find_element(By.ID, "download").click()
    downloaded = browser.downloads / "horse.pixel.png"
    wait(browser, lambda d: downloaded.is_file() and downloaded.stat().st_size > 0, message="no download")
    time.sleep(0.2)
    assert downloaded.read_bytes() == expected, "the download differs from the CLI's bytes"

    # The curl command and the MCP arguments reproduce it.
    cmd = browser.find_element(By.ID, "cmd").get_attribute("value")
    url = re.search(r"'(http://[^']+)'", cmd).group(1)
    assert cmd.startswith("curl --data-binary @horse.png ") and cmd.endswith(" -o horse.pixel.png"), cmd
    assert http(url, horse.read_bytes(), {"content-type": "image/png"})[2] == expected
    args = json.loads(browser.find_element(By.ID, "mcpargs").get_attribute("value"))
    assert args == {"path": "horse.png", "block": 12, "palette": "pico-8"}

    # Keyboard: arrow up in the block box re-runs with block 13.
    browser.find_element(By.ID, "size").send_keys(Keys.ARROW_UP)
    wait(browser, lambda d: result_query(d) == "block=13&palette=pico-8", message="keyboard change")
    assert_flat_blocks(shown_pixels(browser), 13, PICO_8)

    # Zoom 2×: the result is drawn at twice the source width, crisp.
    Select(browser.find_element(By.ID, "zoom")).select_by_value("2")
    result = browser.find_element(By.ID, "result")
    assert round(result.rect["width"]) == 800
    assert result.value_of_css_property("image-rendering") == "pixelated"
    Select(browser.find_element(By.ID, "zoom")).select_by_value("fit")
    # Before/after: the original laid over the result, cut by a slider.
    browser.find_element(By.ID, "v-cmp").click()
    assert browser.find_element(By.ID, "split").is_displayed()
    assert browser.find_element(By.ID, "orig2").is_displayed()
    browser.find_element(By.ID, "v-side").click()

    # A photo too large for the runner's 1 MiB request as it is stored (barely compressed): sent
    # with its image data compressed again (the same pixels), and the facts say so.
    set_number(browser, "size", 8)
    Select(browser.find_element(By.ID, "dither")).select_by_value("bayer4")
    browser.find_element(By.ID, "file").send_keys(str(REPO / "fixtures" / "astronaut.png"))
    wait(
        browser,
        lambda d: result_query(d) == "block=8&palette=pico-8&dither=bayer4"
        and "64×64" in d.find_element(By.ID, "facts").text,
    )
    facts = browser.find_element(By.ID, "facts").text
    assert re.search(r"Fitted to 1 MiB\s+image data compressed again: \d+ -> \d+ bytes \(the same pixels", facts), facts
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("document.activeElement.blur()")
    browser.save_screenshot(str(SCREENSHOT))

    # Every control has a label.
    unlabelled = browser.execute_script(
        """return [...document.querySelectorAll('input,select,textarea')].filter((e) =>
          e.offsetParent && e.tabIndex >= 0 && !(e.labels && e.labels.length) &&
          !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')).map((e) => e.id);"""
    )
    assert unlabelled == []


def test_phone_width_and_dark_mode(browser, local: Served) -> None:
    browser.set_window_size(390, 844)
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    try:
        browser.get(local.urls["gateway"] + "/")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow} px wider than a phone screen"
        background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        r, g, b = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert r + g + b < 150, f"dark mode background is {background}"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        browser.set_window_size(1280, 900)


def test_a_non_image_upload_says_why_in_words(browser, local: Served, tmp_path: Path) -> None:
    gateway = local.urls["gateway"]
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a picture\n")
    _, _, body = http(gateway + "/pixelate", notes.read_bytes(), {"content-type": "text/plain"})
    api_message = json.loads(body)["error"]["message"]

    browser.get(gateway + "/")
    browser.find_element(By.ID, "file").send_keys(str(REPO / "fixtures" / "horse.png"))
    wait(browser, lambda d: result_query(d) == "block=8&colors=16")
    browser.find_element(By.ID, "file").send_keys(str(notes))
    error = browser.find_element(By.ID, "error")
    wait(browser, lambda d: error.is_displayed(), message="no error shown")
    assert "notes.txt could not be pixelated" in error.text and api_message in error.text, error.text
    assert error.get_attribute("role") == "alert"
    # The previous picture's result does not stand next to this upload: the placeholder shows,
    # with no facts and no download of the old result.
    assert not browser.find_element(By.ID, "result").is_displayed()
    assert browser.find_element(By.ID, "result-empty").is_displayed()
    assert browser.find_element(By.ID, "download").get_attribute("aria-disabled") == "true"
    assert browser.find_element(By.ID, "facts").text == ""


def test_an_animated_gif_comes_back_animated_and_a_frame_as_a_still(browser, local: Served, tmp_path: Path) -> None:
    from test_identity import animated_gif

    gateway = local.urls["gateway"]
    sun = tmp_path / "sun.gif"
    animated_gif(sun, transparent=False)
    browser.get(gateway + "/")
    browser.find_element(By.ID, "file").send_keys(str(sun))
    wait(browser, lambda d: result_query(d) == "block=8&colors=16", message="no result for the GIF")
    facts = browser.find_element(By.ID, "facts").text
    assert "animated GIF" in facts and re.search(r"Frames\s+6, 80/80/120/80/80/200 ms, looping forever", facts), facts
    assert browser.find_element(By.ID, "download").text == "Download GIF"
    # The download is the module's GIF: every frame, the same bytes as the CLI's.
    browser.find_element(By.ID, "download").click()
    downloaded = browser.downloads / "sun.pixel.gif"
    wait(browser, lambda d: downloaded.is_file() and downloaded.stat().st_size > 0, message="no download")
    time.sleep(0.2)
    gif = downloaded.read_bytes()
    assert gif == cli_png(sun, "--format", "gif"), "the page's GIF differs from the CLI's"
    assert Image.open(io.BytesIO(gif)).n_frames == 6
    cmd = browser.find_element(By.ID, "cmd").get_attribute("value")
    assert cmd.endswith(" -o sun.pixel.gif"), cmd

    # A frame number gives that frame as a PNG.
    set_number(browser, "frame", 3)
    wait(browser, lambda d: result_query(d) == "block=8&colors=16&frame=3", message="no still for frame 3")
    assert browser.find_element(By.ID, "download").text == "Download PNG"
    still = shown_pixels(browser)
    assert still.size == (120, 80)
    assert_flat_blocks(still, 8, {"#%02x%02x%02x" % c[:3] for _, c in still.getcolors(1 << 16)})
    browser.find_element(By.ID, "frame").clear()


SEND_IMAGE = """
const [kind, name, done] = arguments;
const c = document.createElement('canvas');
c.width = 64; c.height = 48;
const g = c.getContext('2d');
g.fillStyle = '#ff004d'; g.fillRect(0, 0, 32, 48);
g.fillStyle = '#29adff'; g.fillRect(32, 0, 32, 48);
c.toBlob((blob) => {
  const dt = new DataTransfer();
  dt.items.add(new File([blob], name, {type: 'image/png'}));
  const event = kind === 'drop'
    ? new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})
    : new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true});
  document.getElementById('stage').dispatchEvent(event);
  done();
}, 'image/png');
"""


def test_a_dropped_or_pasted_image_is_pixelated(browser, local: Served) -> None:
    browser.get(local.urls["gateway"] + "/")
    for kind in ("drop", "paste"):
        name = f"{kind}ped.png"
        before = browser.find_element(By.ID, "result").get_attribute("src")
        browser.execute_async_script(SEND_IMAGE, kind, name)
        wait(
            browser,
            lambda d: d.find_element(By.ID, "source").text.startswith(name),
            message=f"{kind} ignored",
        )
        wait(
            browser,
            lambda d: d.find_element(By.ID, "result").get_attribute("src") != before,
            message="no new result",
        )
        assert "8×6 cells" in browser.find_element(By.ID, "facts").text
        image = shown_pixels(browser)
        assert image.size == (64, 48)
        assert_flat_blocks(image, 8, {"#ff004d", "#29adff"})


def test_the_health_badge_turns_red_when_the_runner_stops(browser, module_wasm: Path) -> None:
    runner = Served(["run-local", "--module", str(module_wasm)], ["runner", "gateway"])
    gateway = Served(["gateway", "--runner", runner.urls["runner"]], ["gateway"])
    try:
        browser.get(gateway.urls["gateway"] + "/")
        badge = browser.find_element(By.ID, "health")
        wait(browser, lambda d: badge.get_attribute("data-state") == "ok", message="badge never ok")
        runner.stop()
        wait(
            browser,
            lambda d: badge.get_attribute("data-state") == "down",
            timeout=20,
            message="badge never red",
        )
        assert badge.text == "runner down"
        # The gateway's own JSON error, in words (502: the runner cannot be reached).
        assert "HTTP 502" in badge.get_attribute("title"), badge.get_attribute("title")
        colour = badge.value_of_css_property("color")
        r, g, b = (int(v) for v in re.findall(r"\d+", colour)[:3])
        assert r > 150 and g < 100 and b < 100, f"the badge is not red: {colour}"
    finally:
        gateway.stop()
        runner.stop()


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mcp_host(tmp_path_factory):
    node = shutil.which("node")
    if node is None or not (HOST_DIR / "node_modules" / "@modelcontextprotocol" / "ext-apps").is_dir():
        missing("node or tests/studio/node_modules is missing (npm ci --prefix tests/studio)")
    root = tmp_path_factory.mktemp("mcp-root")
    shutil.copy(REPO / "fixtures" / "horse.png", root / "horse.png")
    proc = subprocess.Popen(
        [node, str(HOST_DIR / "host.mjs"), str(binary()), str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline()
    if not line.startswith("host "):
        proc.kill()
        pytest.fail(f"the MCP host did not start: {line!r}")
    yield line.split()[1], root
    proc.stdin.close()  # the host stops the server and exits on EOF
    proc.wait(10)


def host_log(driver) -> dict:
    return driver.execute_script("return JSON.parse(JSON.stringify(window.hostLog || {}))")


def test_the_page_as_an_mcp_app_renders_results_and_calls_the_tool(browser, mcp_host) -> None:
    url, root = mcp_host
    browser.set_window_size(1280, 900)
    browser.get(url)
    wait(
        browser, lambda d: host_log(d).get("agentResult"), timeout=60, message="the host never sent a result"
    )
    log = host_log(browser)
    assert log["resource"]["uri"] == "ui://pixelsmith/studio"
    assert log["resource"]["mimeType"] == "text/html;profile=mcp-app"
    assert ["ui://pixelsmith/studio", "text/html;profile=mcp-app"] in log["resource"]["listed"]
    assert log["initialized"] is True and log["errors"] == []
    first = (root / "horse.pixel.png").read_bytes()

    browser.switch_to.frame(browser.find_element(By.ID, "view"))
    try:
        badge = browser.find_element(By.ID, "health")
        wait(browser, lambda d: badge.text == "connected to pixelsmith-test-host")
        result = browser.find_element(By.ID, "result")
        wait(
            browser,
            lambda d: result.is_displayed() and result.get_attribute("src").startswith("data:image/png"),
        )
        assert_flat_blocks(shown_pixels(browser), 8, GAME_BOY)
        assert "50×41 cells, block 8 px" in browser.find_element(By.ID, "facts").text
        assert (
            Select(browser.find_element(By.ID, "palette")).first_selected_option.get_attribute("value")
            == "game-boy"
        )
        assert browser.execute_script("return document.documentElement.dataset.theme") == "dark"
        assert str(root / "horse.pixel.png") in browser.find_element(By.ID, "saved").text

        # A control change → tools/call through the host → the real server writes the new file.
        set_number(browser, "size", 16)
        wait(browser, lambda d: '"block":16' in result_query(d), timeout=60, message="no re-run")
        assert_flat_blocks(shown_pixels(browser), 16, GAME_BOY)
        assert "25×21 cells, block 16 px" in browser.find_element(By.ID, "facts").text
        written = (root / "horse.pixel.png").read_bytes()
        assert written != first, "the server did not rewrite the file"
        assert written == cli_png(root / "horse.png", "--block", "16", "--palette", "game-boy")

        # A bad option comes back as the tool's error, in words.
        Select(browser.find_element(By.ID, "colormode")).select_by_value("custom")
        custom = browser.find_element(By.ID, "custom")
        custom.send_keys(Keys.CONTROL, "a")
        custom.send_keys("#12345")
        error = browser.find_element(By.ID, "error")
        wait(browser, lambda d: error.is_displayed(), timeout=60, message="no error for a bad palette")
        assert "palette" in error.text, error.text

        # An animated GIF uploaded in the view: the tool writes an animation, the view lists its frames.
        from test_identity import animated_gif

        Select(browser.find_element(By.ID, "colormode")).select_by_value("palette")
        sun = Path(tempfile.mkdtemp()) / "sun.gif"
        animated_gif(sun, transparent=False)
        browser.find_element(By.ID, "file").send_keys(str(sun))
        facts = browser.find_element(By.ID, "facts")
        wait(browser, lambda d: "Frames" in facts.text, timeout=60, message="no frames for the GIF")
        assert re.search(r"Frames\s+6, 80/80/120/80/80/200 ms, looping forever", facts.text), facts.text
        assert "animated GIF" in facts.text, facts.text
    finally:
        browser.switch_to.default_content()

    calls = host_log(browser)["calls"]
    assert {
        "name": "pixelate",
        "arguments": {"path": "horse.png", "block": 16, "palette": "game-boy"},
    } in calls
    assert host_log(browser)["sizes"], "the view never reported its size"

    # The host switches to light: the view follows.
    browser.execute_script("window.setTheme('light')")
    browser.switch_to.frame(browser.find_element(By.ID, "view"))
    try:
        wait(browser, lambda d: d.execute_script("return document.documentElement.dataset.theme") == "light")
    finally:
        browser.switch_to.default_content()
