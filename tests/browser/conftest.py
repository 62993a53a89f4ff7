"""The web console in a real browser (Debian's Chromium driven by Playwright) against the real platform:
every service and the gateway started as tests/integration starts them, on RabbitMQ and PostgreSQL.

Every page a test opens collects its console errors and uncaught exceptions; a test fails if any appeared.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, PC, ROOT, Api, sign_in


@pytest.fixture(scope="session")
def console_built():
    """The console as `make run` builds it (a no-op when web/dist is newer than the sources)."""
    subprocess.run(["make", "-s", "web"], cwd=ROOT, check=True)
    assert (ROOT / "web" / "dist" / "index.html").is_file()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    pw = manager.start()
    chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    # Playwright's own stop waits for its driver process through asyncio's child watcher, which never hears
    # of the exit once eventlet (monkey-patched for nameko) has run a subprocess: end the driver ourselves
    driver = manager._client._transport._proc
    os.kill(driver.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(driver.pid, 0)


@pytest.fixture
def admin(gateway, token):
    return Api(gateway, token("district_admin", ["*"], sub="district-admin"))


@pytest.fixture
def maxian(admin):
    """Maxian with two grids, four buildings, a grid team member to assign to and a district bureau."""
    admin.post(
        "/api/v1/communities",
        {"code": "maxian", "name": "马限社区", "district": "mawei", "district_name": "马尾区", "ref_prefix": "MX"},
    )
    admin.post(
        "/api/v1/communities",
        {"code": "luoxing", "name": "罗星社区", "district": "mawei", "district_name": "马尾区", "ref_prefix": "LX"},
    )
    for g, name in (("maxian-g01", "第一网格"), ("maxian-g02", "第二网格")):
        admin.post("/api/v1/communities/maxian/grids", {"code": g, "name": name})
    for n, grid in ((1, "maxian-g01"), (2, "maxian-g01"), (3, "maxian-g02"), (4, "maxian-g02")):
        admin.post(
            "/api/v1/communities/maxian/buildings",
            {"code": f"maxian-b0{n}", "name": f"江滨花园{n}号楼", "grid": grid, "floors": 11},
        )
    admin.post(
        "/api/v1/communities/maxian/roster/members",
        {"id": "wang-xm", "grid": "maxian-g01", "name": "王晓明", "role": "grid_leader"},
    )
    admin.post("/api/v1/bureaus", {"code": "housing", "name": "区住建局"})
    return admin


@pytest.fixture
def open_page(browser, gateway, console_built):
    """Opens pages signed in as someone; fails the test if any page logged a console error."""
    contexts, errors = [], []

    def open_(token: str | None, path: str = "/", viewport: dict = PC, expected_errors: tuple[str, ...] = ()):
        """token None: the page is left on the sign-in page for the test to sign in through the form."""
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        # a response the test provokes on purpose (a wrong password: 401) is named by the test; nothing else
        page.on(
            "console",
            lambda m: errors.append(f"{page.url}: {m.text}")
            if m.type == "error" and not any(e in m.text for e in expected_errors)
            else None,
        )
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        if token is None:
            page.goto(gateway + path)
            return page
        sign_in(page, gateway, token)
        page.goto(gateway + path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], "console errors:\n" + "\n".join(errors)


