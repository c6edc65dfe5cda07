"""Drive the Dagster UI (1.13) in Debian's Chromium through Playwright, as a person would.

Playwright's own browser builds cannot be downloaded here, so it launches the system
`/usr/bin/chromium` (`apt-get install chromium`; `.ci/run` installs it). Every wait is
bounded by the page's default timeout.

The click path, as of Dagster 1.13:
  sidebar "Lineage" (/asset-groups, "Global asset lineage"); with several asset groups the
  graph starts collapsed, so the graph's settings button (bottom right) -> "Expand all
  groups"; then "Materialize all…" -> dialog "Launch runs to materialize N assets":
  "Show all partitions" (the dialog offers only the last 90 days by default), type
  `[first...last]` into the partition text box, wait for "2 partitions", "Launch backfill"
  -> toast "Created backfill <id>" with a "View" link (/runs/b/<id>); later: sidebar
  "Runs" -> tab "Backfills" (/runs?view=backfills) -> the backfill's id.

A fresh Dagster instance first greets with a "Join the Dagster community" dialog; a
locator handler clicks its "Skip" whenever it is in the way. The sidebar's accessible
names carry their icon's label ("lineage Lineage"), hence the regular expressions.
"""

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless and the profile directory are Playwright's launch options; the rest are flags.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1920, "height": 1200}  # the whole expanded graph fits


def require_chromium() -> None:
    """Skip without Chromium on a workstation; under CI (CI set) fail loudly instead."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium_page(user_data_dir: Path, timeout_ms: int = TIMEOUT_MS) -> Iterator:
    """A page of a fresh headless Chromium profile; the browser is closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport=VIEWPORT,
            timezone_id="UTC",
            locale="en-US",
        )
        try:
            context.set_default_timeout(timeout_ms)
            context.set_default_navigation_timeout(timeout_ms)
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()


class Screenshots:
    """Full-window PNGs into each folder (the test's tmp dir, and $PIPELINE_SCREENSHOTS)."""

    def __init__(self, *folders: Path | str | None):
        self.folders = [Path(f) for f in folders if f]
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str) -> Path:
        first = self.folders[0] / f"{name}.png"
        page.screenshot(path=str(first))
        for folder in self.folders[1:]:
            shutil.copyfile(first, folder / first.name)
        return first


class DagsterUI:
    """The few screens of the Dagster UI that a backfill goes through."""

    def __init__(self, page, base_url: str):
        from playwright.sync_api import expect

        self.page = page
        self.base_url = base_url.rstrip("/")
        self.expect = expect
        # A fresh instance greets with "Join the Dagster community" once (test_ui marks it
        # seen through GraphQL first); should it still appear, skip it.
        self.community = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
        page.add_locator_handler(
            self.community, lambda dialog: dialog.get_by_role("button", name="Skip").click()
        )

    def _nav(self, name: str):
        # The sidebar's links: Overview, Runs, Catalog, Jobs (if any), Automation, Lineage,
        # Deployment.
        # Their accessible names start with the icon's label ("lineage Lineage").
        return self.page.get_by_role("navigation").get_by_role(
            "link", name=re.compile(rf"(^|\s){name}$")
        )

    def open_lineage(self, asset_names: tuple[str, ...] = ()) -> None:
        """Home page, then the sidebar's "Lineage": the global asset graph, groups expanded."""
        page = self.page
        page.goto(self.base_url + "/")
        self._nav("Lineage").click()
        page.wait_for_url(re.compile(r"/asset-groups"))
        self.expect(page.get_by_text("Global asset lineage")).to_be_visible()
        self.expect(self.materialize_all).to_be_enabled()
        self.expand_all_groups()
        for name in asset_names:
            self.expect(page.get_by_text(name, exact=True).first).to_be_visible()
        # The nodes fill in their partition counts after the graph is drawn.
        self.expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0)
        self.expect(self.community).to_be_hidden()

    def expand_all_groups(self) -> None:
        """With several asset groups the graph starts collapsed to one box per group: the
        graph's own settings button (bottom right) -> "Expand all groups"."""
        self.page.get_by_role("button", name="settings", exact=True).click()
        menu = self.page.get_by_role("menu")
        self.expect(menu).to_be_visible()
        expand = menu.get_by_role("menuitem", name=re.compile("Expand all groups"))
        if expand.count():
            expand.click()
            collapse = menu.get_by_role("menuitem", name=re.compile("Collapse all groups"))
            self.expect(collapse).to_be_visible()
        self.page.keyboard.press("Escape")
        self.expect(menu).to_be_hidden()

    @property
    def materialize_all(self):
        return self.page.get_by_role("button", name=re.compile(r"Materialize all"))

    def open_materialize_all(self):
        """Click "Materialize all…"; returns the launch dialog."""
        self.materialize_all.click()
        dialog = self.page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
        self.expect(dialog).to_be_visible()
        return dialog

    def choose_partition_range(self, dialog, first: str, last: str, count: int) -> None:
        """Type `[first...last]` into the dialog's partition box; wait for "N partitions"."""
        box = dialog.get_by_role("textbox")
        self.expect(box).to_be_visible()
        # By default the dialog offers only the last 90 days, and a range older than that is
        # refused ("Could not find partitions for provided range"): widen it to all time.
        window = dialog.get_by_role("button", name=re.compile(r"Last 90 days|All time"))
        self.expect(window).to_be_visible()
        if "All time" not in window.inner_text():
            dialog.get_by_role("button", name="Show all partitions").click()
            self.expect(window).to_have_text(re.compile("All time"))
        box.fill(f"[{first}...{last}]")
        box.press("Enter")
        self.expect(dialog.get_by_text(f"{count} partitions", exact=True)).to_be_visible()
        self.expect(box).to_have_value(re.compile(re.escape(first)))

    def launch_backfill(self, dialog) -> str:
        """Click "Launch backfill"; returns the id from the "Created backfill <id>" toast."""
        button = dialog.get_by_role("button", name="Launch backfill")
        self.expect(button).to_be_enabled()
        button.click()
        toast = self.page.get_by_text(re.compile(r"Created backfill \w+"))
        self.expect(toast).to_be_visible()
        self.expect(dialog).to_be_hidden()
        match = re.search(r"Created backfill (\w+)", toast.inner_text())
        assert match, toast.inner_text()
        return match.group(1)

    def open_backfill_from_toast(self, backfill_id: str) -> None:
        """The toast's "View": the backfill's page, /runs/b/<id>."""
        self.page.locator(f'a[href$="/runs/b/{backfill_id}"]').first.click()
        self.page.wait_for_url(re.compile(rf"/runs/b/{backfill_id}"))
        self.expect(self.page.get_by_text(backfill_id).first).to_be_visible()

    def open_backfill_from_runs(self, backfill_id: str) -> None:
        """From the home page: sidebar "Runs" -> tab "Backfills" -> the backfill's id."""
        page = self.page
        page.goto(self.base_url + "/")  # a fresh page: the launch toast stays until reload
        self._nav("Runs").click()
        page.wait_for_url(re.compile(r"/runs"))
        page.get_by_role("tab", name="Backfills").or_(
            page.get_by_role("link", name="Backfills", exact=True)
        ).first.click()
        page.wait_for_url(re.compile(r"view=backfills"))
        page.get_by_role("link", name=backfill_id).first.click()
        page.wait_for_url(re.compile(rf"/runs/b/{backfill_id}"))

    def expect_backfill_page_done(self, first: str, last: str, assets: int) -> None:
        """The backfill's page: its range, and every asset row at "100% completed"."""
        page = self.page
        self.expect(page.get_by_text(f"{first}...{last}").first).to_be_visible()
        self.expect(page.get_by_text("100% completed")).to_have_count(assets)
