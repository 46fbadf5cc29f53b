"""The sweep page in real Chromium: trials appear live as a worker (driven through the real queue API) trains them,
each param is plotted against accuracy (a log axis for a log range, evenly spaced ticks for listed words), and the
best trial is marked and linked to its run's export page."""

from __future__ import annotations

import pytest
from support.sweep_steps import claim, create, finish, post_epochs, worker

pytestmark = pytest.mark.browser

ACCURACIES = [0.5, 0.9, 0.7]


def test_the_sweep_page_shows_trials_live_plots_params_and_links_the_best_export(server, page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    with server.client() as client:
        made = create(
            client,
            sampler="random",
            random={"lr": {"low": 1e-4, "high": 1e-1, "log": True}},
            choice={"model.block": ["plain", "residual"]},
            trials=3,
            pruner="none",
        )
        sweep_id = made["sweep_id"]
        page.goto(f"{server.url}/sweeps/{sweep_id}")
        page.wait_for_function("() => document.querySelectorAll('#trials tbody tr').length === 3")
        assert "queued" in page.inner_text("#sweep-summary") and page.is_hidden("#best")

        tab = worker(client)
        trained = []
        for accuracy in ACCURACIES:
            job = claim(client, tab)
            post_epochs(client, job, [accuracy - 0.1, accuracy])
            finish(client, job, accuracy)
            trained.append(job)
    best = trained[ACCURACIES.index(max(ACCURACIES))]

    page.wait_for_function("() => document.body.dataset.sweepStatus === 'done'", timeout=15_000)
    rows = page.eval_on_selector_all("#trials tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert sorted((row[1], row[3], row[4], row[5]) for row in rows) == sorted(
        (job["id"], "done", "2", f"{accuracy:.3f}") for job, accuracy in zip(trained, ACCURACIES, strict=True)
    )
    assert page.get_attribute("#trials tr.best", "data-run-id") == best["id"]
    assert page.get_attribute(f"#trials a[href='/runs/{best['id']}']", "href")

    lr_plot = "#sweep-plots figure[data-param='lr']"
    assert page.locator(f"{lr_plot} circle.scatter-point").count() == 3
    assert page.locator(f"{lr_plot} circle.marked").count() == 1
    assert "log scale" in page.text_content(f"{lr_plot} .x-title")
    lr_ticks = page.eval_on_selector_all(f"{lr_plot} .x-tick", "ticks => ticks.map(t => t.textContent)")
    assert "1e-4" in lr_ticks and "0.1" in lr_ticks, lr_ticks
    block_plot = "#sweep-plots figure[data-param='model.block']"
    block_ticks = page.eval_on_selector_all(f"{block_plot} .x-tick", "ticks => ticks.map(t => t.textContent)")
    assert block_ticks == ["plain", "residual"]
    assert page.locator(f"{block_plot} circle.scatter-point").count() == 3
    marked_title = page.text_content(f"{block_plot} circle.marked title")
    assert best["id"] in marked_title and "0.900" in marked_title

    assert best["id"] in page.inner_text("#best-text") and "0.900" in page.inner_text("#best-text")
    page.click("#best-export")
    page.wait_for_url(f"{server.url}/runs/{best['id']}/export")
    assert problems == [], problems
