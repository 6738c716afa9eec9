"""The vidvec page and the approval flow, clicked through in a real browser.

`airflow standalone` with the embedded stack, headless Chromium: log in, fill
vidvec_full_rebuild's trigger form and trigger it, open the vidvec page from
the navigation and find the new collection; follow its "audit" link to the
audit DAG's form and trigger it, see the audit (and its chart) on the page;
follow "promote", trigger, open the approval form from the page, approve with
a reason, and see the alias move and the approval in the history; run a canary
and see the live alias's trend (the audit and the canary) drawn. The
screenshots in docs/img/ (docs/airflow-ui.md) are taken here with
VIDVEC_UPDATE_SCREENSHOTS=1; otherwise they go to a temporary directory, so a
test run leaves the checkout as it was.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest

from tests.dags.test_airflow_rest import launch, log_in, stop_standalone, tail
from tests.ui.browser import chromium_page

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "img" if os.environ.get("VIDVEC_UPDATE_SCREENSHOTS") == "1"
        else Path(tempfile.mkdtemp(prefix="vidvec-screenshots-")))
DAGS = ("vidvec_full_rebuild", "vidvec_recall_audit", "vidvec_promote", "vidvec_canary")


def wait_for_run(api, proc, log, dag_id: str, timeout_s: float = 420) -> dict:
    """The newest run of dag_id, once it finished (fails the test on a failed run)."""
    def newest():
        runs = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=1")["dag_runs"]
        return runs[0] if runs and runs[0]["state"] in ("success", "failed") else None

    run = api.wait(f"a finished run of {dag_id}", newest, timeout_s, proc, log)
    tasks = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances")
    assert run["state"] == "success", ([(t["task_id"], t["state"]) for t in tasks["task_instances"]], tail(log))
    return run


def trigger_from_form(page, fields: dict[str, str], screenshot: Path | None = None) -> None:
    """On a DAG's page: press Trigger, fill the form's Params, (screenshot), trigger."""
    page.get_by_role("button", name="Trigger").first.click()
    form = page.get_by_role("dialog")
    for name, value in fields.items():
        form.locator(f"input[name=element_{name}]").fill(value)
    if screenshot:
        form.screenshot(path=str(screenshot))
    form.get_by_role("button", name="Trigger").click()
    page.wait_for_url(re.compile(r"/runs/"), timeout=120_000)  # a trigger answers slowly on a busy machine


def open_vidvec_page(page, base: str):
    """From anywhere in the UI: Browse -> vidvec, the page in Airflow's frame."""
    page.goto(base + "/")
    page.get_by_role("button", name="Browse").click()
    page.locator('a[href$="/plugin/vidvec"]').click()
    frame = page.frame_locator("iframe[title=vidvec]")
    frame.locator("#freshness").wait_for()
    return frame


def settle_before_answering(api, proc, log, run_id: str, settle_s: float = 15) -> None:
    """Answer no sooner than settle_s after the approval task parked. Airflow 3.3.2 races an answer
    given within seconds: the worker's "finished" event for the parked try, processed after the answer
    resumed the task, reads as a state changed externally, and the task is retried (asks again)."""
    from datetime import datetime, timezone
    from urllib.parse import quote

    path = f"/api/v2/dags/vidvec_promote/dagRuns/{quote(run_id, safe='')}/taskInstances/approval"

    def settled():
        ti = api.call("GET", path)
        started = datetime.fromisoformat(ti["start_date"].replace("Z", "+00:00"))
        return ti["state"] == "awaiting_input" and (datetime.now(timezone.utc) - started).total_seconds() > settle_s

    api.wait("the approval task to settle in awaiting_input", settled, 120, proc, log)


def full_height_screenshot(page, path: Path, height: int) -> None:
    """The whole vidvec page inside the UI: a taller window and frame, then back."""
    page.set_viewport_size({"width": 1400, "height": height})
    page.locator("iframe[title=vidvec]").evaluate(f"f => {{ f.style.height = '{height - 40}px'; }}")
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 1000})


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_rebuild_audit_approve_in_the_airflow_ui(tmp_path, settings, sample_slice):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    with open_catalog(settings) as catalog:
        catalog.upsert_videos(sample_slice[:40])  # small: the whole flow stays around three minutes
    env = {"VIDVEC_REQUIRE_APPROVAL": "true",  # the setting that turns approval on for every promote run
           "VIDVEC_REBUILD_DEADLINE_HOURS": "0.0001"}  # 0.36 s: the rebuild misses it and the alert fires
    with chromium_page() as page, launch(tmp_path, settings, **env) as (api, proc, log, home):
        password = log_in(api, proc, log, home, dag_ids=DAGS)
        base = api.base
        page.goto(base + "/")
        page.locator("input[name=username]").fill("admin")
        page.locator("input[name=password]").fill(password)
        page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
        page.get_by_role("button", name="Browse").wait_for()

        # 1. Rebuild from its trigger form (its "unpause on trigger" box is ticked by default).
        page.goto(base + "/dags/vidvec_full_rebuild")
        trigger_from_form(page, {"shards": "3", "batch_size": "8"}, screenshot=DOCS / "ui-trigger-form.png")
        rebuild = wait_for_run(api, proc, log, "vidvec_full_rebuild")
        assert rebuild["conf"]["shards"] == 3 and rebuild["conf"]["batch_size"] == 8

        # 2. The vidvec page, from the navigation: the new collection behind videos__next.
        frame = open_vidvec_page(page, base)
        card = frame.locator(".collection").first
        collection = card.get_attribute("data-collection")
        assert collection.startswith("videos__") and "state <b>ready</b>" in card.inner_html()
        assert frame.locator('tr[data-alias="videos__next"]').inner_text().count(collection) == 1
        assert "vidvec_full_rebuild.finish" in frame.locator("#freshness").inner_text()
        alert = frame.locator("li", has_text="at its deadline")
        alert.wait_for(timeout=60_000)  # the triggerer ran the deadline callback
        assert rebuild["dag_run_id"] in alert.inner_text()

        # 3. Its "audit" link opens the audit DAG; trigger it with the Params the page gives.
        audit_params = json.loads(card.locator(".act", has_text="audit").locator(".conf").inner_text())
        assert audit_params == {"target": collection}
        card.get_by_role("link", name="audit").click()
        page.wait_for_url(re.compile(r"/dags/vidvec_recall_audit$"))
        api.call("PATCH", "/api/v2/dags/vidvec_recall_audit", {"is_paused": False})
        trigger_from_form(page, {"target": collection, "sample": "40"})
        wait_for_run(api, proc, log, "vidvec_recall_audit")
        frame = open_vidvec_page(page, base)
        audit = frame.locator(f'.collection[data-collection="{collection}"] tr.audit').first
        assert "passed" in audit.inner_text() and "1.000" in audit.inner_text()
        chart = frame.locator(f'.collection[data-collection="{collection}"] img.chart').first
        chart.wait_for()
        loaded = "i => i.complete ? i.naturalWidth : new Promise(r => { i.onload = () => r(i.naturalWidth); })"
        assert chart.evaluate(loaded) > 400  # the report's PNG, inline
        full_height_screenshot(page, DOCS / "ui-vidvec-page.png", 1750)

        # 4. "promote to videos": trigger with the collection; require_approval is on by the setting.
        frame.locator(f'.collection[data-collection="{collection}"]').get_by_role(
            "link", name="promote to videos").click()
        page.wait_for_url(re.compile(r"/dags/vidvec_promote$"))
        api.call("PATCH", "/api/v2/dags/vidvec_promote", {"is_paused": False})
        page.get_by_role("button", name="Trigger").first.click()
        assert page.get_by_role("dialog").locator("input[name=element_require_approval]").is_checked()
        page.keyboard.press("Escape")
        trigger_from_form(page, {"collection": collection})

        # 5. The page shows the request; its link opens the approval form; approve with a reason.
        frame = open_vidvec_page(page, base)
        for _ in range(30):  # the request appears once the approval task parks
            if frame.locator(".wait").count():
                break
            page.wait_for_timeout(2000)
            frame = open_vidvec_page(page, base)
        assert f"Promote {collection} to videos?" in frame.locator(".wait").inner_text()
        settle_before_answering(api, proc, log, frame.locator(".wait").get_attribute("data-run"))
        frame.get_by_role("link", name="open the approval form").click()
        page.wait_for_url(re.compile(r"/tasks/approval/required_actions"))
        form = page.locator("text=Newest audit").locator("xpath=ancestor::div[.//button[text()='Approve']][1]")
        assert "| audit | ok |" not in form.inner_text() and "ready" in form.inner_text()  # rendered Markdown
        page.locator("input[name=element_reason]").fill("audit passed, recall 1.0 on every language")
        page.screenshot(path=str(DOCS / "ui-approval-form.png"))
        page.locator("input[name=element_reason]").press("Tab")  # the form takes the value on blur
        with page.expect_response(lambda r: "hitlDetails" in r.url and r.request.method == "PATCH") as sent:
            page.get_by_role("button", name="Approve").click()
        assert sent.value.ok, sent.value.text()
        promote = wait_for_run(api, proc, log, "vidvec_promote")

        # 6. The alias moved; the history says who approved and why.
        frame = open_vidvec_page(page, base)
        live = frame.locator('tr[data-alias="videos"]')
        assert collection in live.inner_text() and "live" in live.inner_text()
        assert frame.locator('tr[data-alias="videos__next"]').count() == 0
        history = frame.locator("#promotions").inner_text()
        assert collection in history and "admin: audit passed, recall 1.0 on every language" in history
        assert "approved" in frame.locator("#approvals").inner_text()
        frame.locator("details[open]").evaluate_all("ds => ds.forEach(d => d.open = false)")  # the chart again
        full_height_screenshot(page, DOCS / "ui-after-approval.png", 1150)

        # 7. A canary of the live alias: its trend shows the audit (as videos__next) and the canary over time.
        api.call("PATCH", "/api/v2/dags/vidvec_canary", {"is_paused": False})
        api.call("POST", "/api/v2/dags/vidvec_canary/dagRuns", {"logical_date": None, "conf": {"sample": 24}})
        wait_for_run(api, proc, log, "vidvec_canary")
        frame = open_vidvec_page(page, base)
        trend = frame.locator('.trend[data-alias="videos"]')
        assert collection in trend.locator("h3").inner_text() and "newest: canary" in trend.inner_text()
        recall = trend.locator('figure[data-figure="recall@k"]')
        assert recall.locator("circle.audit").count() == 2 and recall.locator("circle.canary").count() == 2
        assert "unfiltered 1.000" in recall.locator("figcaption").inner_text()
        box = recall.locator("svg").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80  # drawn, not only in the markup
        trend.screenshot(path=str(DOCS / "ui-trend.png"))
        stop_standalone(proc)  # releases the embedded store before this process opens it

    with open_store(settings) as store, open_catalog(settings, read_only=True) as catalog:
        assert store.aliases() == {"videos": collection}
        (promotion,) = catalog.promotions("videos")
        (approval,) = catalog.approvals()
    assert promotion.actor == promote["dag_run_id"] == approval.run_id
    assert (approval.approved, approval.responded_by) == (True, "admin")
