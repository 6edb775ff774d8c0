"""Real-browser test: JupyterLab + headless Debian Chromium driven by Playwright.

Starts JupyterLab on 127.0.0.1 with a known token and a throw-away HOME/config/workspace,
opens a notebook, runs all cells from the ``Run`` menu, moves a widget slider with the
keyboard and checks that the figure redraws without widget or Python errors.

Needs the Debian ``chromium`` package on PATH (never a downloaded browser). Without it the
test is skipped, except in CI (``CI=true``), where a skip would hide a failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # the fixtures skip (or fail in CI) with a clear message
    PlaywrightError = Exception  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

REPO_ROOT = Path(__file__).resolve().parents[1]
START_HERE_NOTEBOOK = "notebooks/00_start_here.ipynb"

SERVER_START_TIMEOUT_S = 60.0
KERNEL_IDLE_TIMEOUT_MS = 60_000
RUN_ALL_TIMEOUT_MS = 75_000
REDRAW_TIMEOUT_S = 10.0

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# User settings written into the temporary settings dir: never ask about or fetch news, and
# never autosave (Run All dirties the notebook; the test must not rewrite the repo's file).
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server."""

    base_url: str
    token: str
    log: Path

    def url(self, path: str, query: str = "") -> str:
        """Absolute URL of ``path`` with the token (and ``query``) appended."""
        sep = "&" if query else ""
        return f"{self.base_url}/{path.lstrip('/')}?{query}{sep}token={self.token}"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(log: Path, n: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _stop_process_group(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the server (it shuts its kernels down), then SIGKILL its process group."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Path of the system Chromium; skip without it (fail in CI)."""
    path = shutil.which("chromium")
    if path is None:
        reason = (
            "Debian 'chromium' not found on PATH (apt-get install chromium); "
            "this test never downloads a browser"
        )
        if _in_ci():
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """A headless Chromium launched by Playwright (module scope)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        if _in_ci():
            pytest.fail(f"CI=true but playwright is not importable: {exc}", pytrace=False)
        pytest.skip(f"playwright (python package) not installed: {exc}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 rooted at the repo, with a fresh home, config and workspace."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    dirs = {
        name: tmp / name for name in ("home", "config", "data", "runtime", "settings", "workspaces")
    }
    for d in dirs.values():
        d.mkdir()
    for rel, content in USER_SETTINGS.items():
        f = dirs["settings"] / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(content))

    token = secrets.token_hex(24)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        HOME=str(dirs["home"]),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),  # sys.prefix/share/jupyter stays on the path
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        IPYTHONDIR=str(dirs["home"] / ".ipython"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={REPO_ROOT}",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--ServerApp.terminals_enabled=False",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")

    log = tmp / "jupyterlab.log"
    with log.open("wb") as log_f:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Lab(base_url=f"http://127.0.0.1:{port}", token=token, log=log)
    try:
        _wait_for_server(proc, server)
        yield server
    finally:
        _stop_process_group(proc)


def _wait_for_server(proc: subprocess.Popen[bytes], server: Lab) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"JupyterLab exited with code {proc.returncode}:\n{_log_tail(server.log)}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(server.url("api/status"), timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S:.0f} s:\n"
                f"{_log_tail(server.log)}",
                pytrace=False,
            )
        time.sleep(0.25)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page (function scope)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def dismiss_news_toast(page: Page) -> None:
    """Answer "No" to the "get notified about official Jupyter news?" toast, if shown.

    The temporary user settings already say fetchNews=false, so normally there is none.
    """
    toast = page.locator(".Toastify__toast", has_text="Jupyter news")
    if not toast.count():
        return
    try:
        toast.locator("button.jp-toast-button[title='No']").click(timeout=2_000)
        toast.wait_for(state="detached", timeout=3_000)
    except PlaywrightError:  # it may close by itself; it is only in the way
        pass


# The status bar's kernel item reads e.g. "Python 3 (ipykernel) | Idle". The toolbar's
# execution indicator already says "idle" while there is no kernel yet ("No Kernel |
# Initializing"); clicking Run All then opens a "Select Kernel" dialog, so wait for this.
_JS_KERNEL_IDLE = """() => {
    const item = document.querySelector(
        "#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel']");
    const text = item ? item.textContent.trim() : "";
    return !text.startsWith("No Kernel") && / [|] Idle$/.test(text);
}"""

# Run All is started once any prompt has shown "[*]"; a MutationObserver records it because a
# fast notebook can go from "[*]" back to "[n]" between two polls, and a committed (executed)
# notebook shows the same "[1]".."[n]" before and after the run.
_JS_WATCH_RUN_START = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    window.__runAllStarted = false;
    const busy = () => [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
        .some(p => p.textContent.includes('*'));
    const obs = new MutationObserver(() => {
        if (busy()) { window.__runAllStarted = true; obs.disconnect(); }
    });
    obs.observe(panel, {subtree: true, childList: true, characterData: true});
}"""

# Done when the run started, the kernel is idle and no cell waits or runs ("[*]"). After an
# error the cells below show "[ ]" (not run): open_and_run_all then reports the traceback.
_JS_RUN_ALL_DONE = (
    "() => { if (!window.__runAllStarted || !("
    + _JS_KERNEL_IDLE
    + """)()) return false;
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    return ![...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
        .some(p => p.textContent.includes('*'));
}"""
)


def wait_kernel_idle(page: Page, timeout_ms: int = KERNEL_IDLE_TIMEOUT_MS) -> None:
    """Wait until the status bar shows a started kernel that is idle."""
    page.wait_for_function(_JS_KERNEL_IDLE, timeout=timeout_ms, polling=100)


def open_and_run_all(page: Page, lab: Lab, nb_path: str) -> None:
    """Open ``nb_path`` in a clean workspace, Run All Cells from the menu, wait until done."""
    page.goto(lab.url(f"lab/tree/{nb_path}", "reset"), wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
        state="visible", timeout=KERNEL_IDLE_TIMEOUT_MS
    )
    wait_kernel_idle(page)
    dismiss_news_toast(page)

    page.evaluate(_JS_WATCH_RUN_START)
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()  # "Run All Cells"
    page.wait_for_function(_JS_RUN_ALL_DONE, timeout=RUN_ALL_TIMEOUT_MS, polling=250)

    assert_no_errors(page, nb_path)
    prompts = [
        t.strip() for t in page.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents()
    ]
    not_run = [i for i, t in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", t)]
    assert prompts, f"{nb_path}: no code cells found"
    assert not not_run, f"{nb_path}: code cells {not_run} did not run (prompts {prompts})"


def find_slider(page: Page, index: int = 0) -> tuple[Locator, Locator]:
    """The ``index``-th ``interact`` widget and its slider handle, scrolled into view."""
    # Windowing may report off-screen cells as hidden: wait for "attached", then scroll.
    interact = page.locator(".widget-interact:has(.widget-slider .noUi-handle)").nth(index)
    interact.wait_for(state="attached", timeout=30_000)
    interact.scroll_into_view_if_needed()
    handle = interact.locator(".widget-slider .noUi-handle").first
    handle.wait_for(state="visible", timeout=10_000)
    return interact, handle


def slider_value(handle: Locator) -> float:
    """Exact value of a noUiSlider handle.

    ``aria-valuenow`` is rounded to one decimal by noUiSlider (0.9 and 0.91 both read "0.9"),
    so use ``aria-valuetext`` (the full value), falling back to ``aria-valuenow``.
    """
    raw = handle.get_attribute("aria-valuetext") or handle.get_attribute("aria-valuenow")
    assert raw is not None, "slider handle has neither aria-valuetext nor aria-valuenow"
    return float(raw)


def press_slider_key(
    handle: Locator, key: str = "ArrowRight", timeout_s: float = 5.0
) -> tuple[float, float]:
    """Focus the slider ``handle``, press ``key``; return its value before and after."""
    before = slider_value(handle)
    handle.focus()
    handle.press(key)
    deadline = time.monotonic() + timeout_s
    after = slider_value(handle)
    while after == before and time.monotonic() < deadline:
        time.sleep(0.05)
        after = slider_value(handle)
    return before, after


# The DOM does not tell an error output from a stderr stream (both render as
# data-mime-type="application/vnd.jupyter.stderr"), so recognise IPython's error text.
_STDERR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
_ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b", re.M)


def output_image_src(interact: Locator, timeout_s: float = REDRAW_TIMEOUT_S) -> str:
    """The ``src`` of the figure in the interact's output area (waits for it to appear)."""
    img = interact.locator(".jp-OutputArea-output img")
    img.first.wait_for(state="attached", timeout=timeout_s * 1000)
    return str(img.first.get_attribute("src"))


def wait_for_new_image(interact: Locator, old_src: str, timeout_s: float = REDRAW_TIMEOUT_S) -> str:
    """Wait until the interact's figure differs from ``old_src``; return the new ``src``."""
    img = interact.locator(".jp-OutputArea-output img")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if img.count():
            src = img.first.get_attribute("src")
            if src and src != old_src:
                return str(src)
        time.sleep(0.05)
    stderr = interact.locator(_STDERR_OUTPUT).all_text_contents()
    pytest.fail(
        f"figure did not change within {timeout_s:.0f} s of moving the slider"
        + ("; the widget's output shows:\n" + "\n".join(stderr) if stderr else "")
    )


def _expected_error_cells(nb_path: str) -> set[int]:
    """Indices of the cells tagged ``raises-exception`` (JupyterLab runs on past them)."""
    cells = json.loads((REPO_ROOT / nb_path).read_text(encoding="utf-8"))["cells"]
    return {
        i
        for i, c in enumerate(cells)
        if "raises-exception" in c.get("metadata", {}).get("tags", [])
    }


_JS_STDERR_PER_CELL = """(sel) => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    return [...panel.querySelectorAll('.jp-Notebook .jp-Cell')]
        .map(c => [...c.querySelectorAll(sel)].map(e => e.textContent));
}"""


def assert_no_errors(page: Page, nb_path: str | None = None) -> None:
    """No "Error displaying widget" and no Python error output (also inside Output widgets).

    With ``nb_path``, cells tagged ``raises-exception`` in that file may show errors.
    """
    # Only outputs: the chapter's prose may well mention "Error displaying widget".
    outputs = page.locator(".jp-Cell-outputArea").all_text_contents()
    broken = [t for t in outputs if "Error displaying widget" in t]
    assert not broken, "a widget failed to render:\n" + "\n---\n".join(broken)
    per_cell: list[list[str]] = page.evaluate(_JS_STDERR_PER_CELL, _STDERR_OUTPUT)
    allowed: set[int] = set()
    if nb_path is not None:
        allowed = _expected_error_cells(nb_path)
        n_file = len(json.loads((REPO_ROOT / nb_path).read_text(encoding="utf-8"))["cells"])
        assert len(per_cell) == n_file, (
            f"{nb_path}: {len(per_cell)} cells in the page, {n_file} in the file (windowing?)"
        )
    errors = [
        f"cell {i}:\n{t}"
        for i, texts in enumerate(per_cell)
        if i not in allowed
        for t in texts
        if _ERROR_TEXT.search(t)
    ]
    assert not errors, "error output in the notebook:\n" + "\n---\n".join(errors)


def test_start_here_slider_redraws(page: Page, lab: Lab, tmp_path: Path) -> None:
    """Chapter 0: Run All, move the γ slider one step right, the figure redraws."""
    if not (REPO_ROOT / START_HERE_NOTEBOOK).exists():
        pytest.fail(f"missing {START_HERE_NOTEBOOK}")
    try:
        open_and_run_all(page, lab, START_HERE_NOTEBOOK)
        interact, handle = find_slider(page, 0)
        before_src = output_image_src(interact)
        before, after = press_slider_key(handle, "ArrowRight")
        assert after > before, f"slider did not move right: {before} -> {after}"
        assert after == pytest.approx(before + 0.01), "one ArrowRight should be one 0.01 step"

        wait_for_new_image(interact, before_src)
        assert_no_errors(page, START_HERE_NOTEBOOK)
    finally:
        try:
            page.screenshot(path=str(tmp_path / "start_here.png"))
        except PlaywrightError:  # keep the test's own failure
            pass


GAE_NOTEBOOK = "notebooks/04_gae_lambda_gamma.ipynb"


def test_gae_lambda_slider_redraws(page: Page, lab: Lab, tmp_path: Path) -> None:
    """Chapter 4: Run All, move the λ slider of the GAE-weights explorer one step right with
    the keyboard; its readout moves to the next λ and the figure redraws."""
    if not (REPO_ROOT / GAE_NOTEBOOK).exists():
        pytest.fail(f"missing {GAE_NOTEBOOK}")
    try:
        open_and_run_all(page, lab, GAE_NOTEBOOK)
        interact, _ = find_slider(page, 0)
        lam_slider = interact.locator(".widget-slider").filter(
            has=page.locator(".widget-label", has_text="λ")
        )
        assert lam_slider.count() == 1, "the GAE-weights explorer should have one λ slider"
        handle = lam_slider.locator(".noUi-handle").first
        readout = lam_slider.locator(".widget-readout")
        deadline = time.monotonic() + REDRAW_TIMEOUT_S
        while readout.inner_text().strip() == "" and time.monotonic() < deadline:
            time.sleep(0.05)  # the readout is filled in once the view has rendered
        assert readout.inner_text().strip() == "0.95"
        before_src = output_image_src(interact)
        handle.focus()
        handle.press("ArrowRight")
        deadline = time.monotonic() + REDRAW_TIMEOUT_S
        while readout.inner_text().strip() == "0.95" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert readout.inner_text().strip() == "0.97", "one ArrowRight: λ 0.95 → 0.97"
        wait_for_new_image(interact, before_src)
        assert_no_errors(page, GAE_NOTEBOOK)
    finally:
        try:
            page.screenshot(path=str(tmp_path / "gae_lambda.png"))
        except PlaywrightError:
            pass
