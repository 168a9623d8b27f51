"""The reports in a real browser: headless Chromium runs the JS without errors and draws.

Skipped, with the reason, when no ``chromium`` binary is installed (Debian package
``chromium``). Each test loads a page with ``--dump-dom`` (the DOM after the scripts ran): the
page's JS appends ``<div id="rendered">`` when it finishes, and a ``window.onerror`` guard
writes any script error into ``#js-errors``. A screenshot of the run report is saved in the
run directory (``screenshot.png``) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.checker import check_run
from harness.report import render_campaign_index, render_run_report
from harness.testing.synthetic import SyntheticRun, write_synthetic_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt-get install chromium)"
)
TIMEOUT_S = 90


def chromium(tmp_path: Path, *args: str) -> str:
    assert CHROMIUM is not None
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--virtual-time-budget=5000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def dom(tmp_path: Path, url: str) -> str:
    return chromium(tmp_path, "--dump-dom", url)


def script_errors(html: str) -> str | None:
    match = re.search(r'<pre id="js-errors"[^>]*>(.*?)</pre>', html, re.S)
    return match.group(1) if match and match.group(1) else None


@pytest.fixture(scope="module")
def invalid_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser") / "invalid"
    write_synthetic_run(root, SyntheticRun(ops=3_000, stale_read=True))
    check_run(root)
    render_run_report(root)
    return root


def test_run_report_scripts_run_and_draw(invalid_run: Path, tmp_path: Path) -> None:
    html = dom(tmp_path, (invalid_run / "index.html").as_uri())
    assert script_errors(html) is None
    marker = re.search(r'<div id="rendered"[^>]*data-points="(\d+)"', html)
    assert marker, "the renderer ran to its end"
    assert int(marker.group(1)) == 3_000
    assert len(re.findall(r'class="bar unorderable', html)) >= 2, "counterexample lanes drawn"
    assert 'class="bar unorderable in-prefix' in html or "stuck" in html


def test_run_report_screenshot(invalid_run: Path, tmp_path: Path) -> None:
    shot = invalid_run / "screenshot.png"
    chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1400,1800",
        invalid_run.joinpath("index.html").as_uri(),
    )
    assert shot.is_file() and shot.stat().st_size > 20_000  # a blank page is a few KB


def test_error_guard_reports_a_broken_script(invalid_run: Path, tmp_path: Path) -> None:
    """Known-bad input: the error check above must be able to fail."""
    page = (invalid_run / "index.html").read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("var data = JSON.parse(", "var data = JSON.parsx(", 1))
    html = dom(tmp_path, broken.as_uri())
    assert script_errors(html) is not None and "parsx" in (script_errors(html) or "")
    assert 'id="rendered"' not in html


def test_campaign_index_sorts_in_the_browser(invalid_run: Path, tmp_path: Path) -> None:
    runs = []
    for seed in (3, 1, 2):
        root = tmp_path / f"run-{seed}"
        write_synthetic_run(root, SyntheticRun(ops=60, seed=seed))
        check_run(root)
        runs.append(root)
    index = render_campaign_index(tmp_path / "index", [invalid_run, *runs])
    default = dom(tmp_path, index.as_uri())
    assert script_errors(default) is None and 'id="rendered"' in default
    seeds = re.findall(r'<td data-sort="(\d+)">\d+</td>', default)
    assert seeds[0] == "7", "the invalid run comes first"
    by_seed = dom(tmp_path, index.as_uri() + "#sort=seed:desc")
    assert re.findall(r'<td data-sort="(\d+)">\d+</td>', by_seed) == ["7", "3", "2", "1"]


def test_log_filter_and_copy_button_work(invalid_run: Path, tmp_path: Path) -> None:
    """Drive the page as a reader would: type in the log filter, press copy."""
    page = (invalid_run / "index.html").read_text(encoding="utf-8")
    driver = """<script>
      var box = document.getElementById("log-filter");
      box.value = "WARN";
      box.dispatchEvent(new Event("input"));
      document.getElementById("copy").click();
    </script></body>"""
    driven = tmp_path / "driven.html"
    driven.write_text(page.replace("</body>", driver, 1), encoding="utf-8")
    html = dom(tmp_path, driven.as_uri())
    assert script_errors(html) is None
    logs = re.findall(r'<pre class="logtext">(.*?)</pre>', html, re.S)
    assert len(logs) == 3 and all(text.strip() for text in logs)
    assert all(
        line.endswith("WARN lost leader, starting election")
        for t in logs
        for line in t.splitlines()
    )
    assert "3 matching lines" in html
    button = re.search(r'<button type="button" id="copy"[^>]*>', html)
    assert button and 'data-copied="yes"' in button.group(0)
