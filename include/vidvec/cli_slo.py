"""`vidvec metrics` and `vidvec canary`: the service levels from the command line (registered in cli.py)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from vidvec.cli_params import option
from vidvec.params import CanaryParams


def metrics(out: Annotated[Path | None, typer.Option(
                help="write a .prom file there (node_exporter's textfile collector) instead of printing")] = None,
            push: Annotated[bool, typer.Option("--push", help="also push to VIDVEC_PUSHGATEWAY_URL")] = False) -> None:
    """The service-level figures (recall, coverage, staleness, unindexed share, audit age) as Prometheus text."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.config import load_settings
    from vidvec.errors import VidvecError
    from vidvec.slo import exposition
    from vidvec.slo.figures import read_figures
    from vidvec.store import open_store

    settings = load_settings()
    if push and not settings.pushgateway_url:
        raise VidvecError("--push needs VIDVEC_PUSHGATEWAY_URL")
    with open_catalog(settings) as catalog, open_store(settings) as store:
        figures = read_figures(catalog, store, now=datetime.now(timezone.utc), live_alias=settings.live_alias,
                               deadline_hours=settings.rebuild_deadline_hours)
    if out:
        exposition.write_textfile(figures, out)
    else:
        sys.stdout.write(exposition.render(figures).decode())
    if push and settings.pushgateway_url:  # checked above: --push without a URL is refused
        exposition.push(figures, settings.pushgateway_url)


def canary(target: Annotated[str, typer.Argument(help="alias or collection; default the live alias")] = "",
           k: int = option(CanaryParams, "k"),
           sample: int = option(CanaryParams, "sample"),
           seed: int = option(CanaryParams, "seed")) -> None:
    """A small recall audit of the live alias between rebuilds: recall, served p50/p99, unindexed share.

    Rows go to recall_audits (kind canary); exit 1 when recall misses its thresholds.
    """
    from vidvec.canary import run_canary
    from vidvec.catalog.factory import open_catalog
    from vidvec.config import load_settings
    from vidvec.store import open_store
    from vidvec.ui.state import publish

    run = CanaryParams.parse({"target": target, "k": k, "sample": sample, "seed": seed})
    settings = load_settings()
    with open_catalog(settings) as catalog, open_store(settings) as store:
        result = run_canary(catalog, store, run.target or settings.live_alias, at=datetime.now(timezone.utc),
                            k=run.k, sample=run.sample, seed=run.seed)
        publish(settings, catalog, store, written_by="vidvec canary")
    typer.echo(describe(result))
    if not result.passed:
        raise typer.Exit(1)


def describe(result) -> str:
    """One line a person reads: recall both ways, served p50/p99, the unindexed share, failures."""
    overall = {s.filtered: s for s in result.slices if s.slice == "overall"}
    unf, fil = overall.get(False), overall.get(True)

    def fmt(value, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    unindexed = "-" if result.unindexed is None else f"{result.unindexed:.1%}"
    line = (f"{result.audit_id}: {'PASSED' if result.passed else 'FAILED'} ({result.engine}, "
            f"{result.sample_size} queries)\n"
            f"  recall@{result.k} {fmt(unf and unf.recall, '.3f')} unfiltered, {fmt(fil and fil.recall, '.3f')} "
            f"filtered; served p50 {fmt(unf and unf.served_p50_ms, '.2f')} ms, p99 "
            f"{fmt(unf and unf.served_p99_ms, '.2f')} ms; unindexed {unindexed}")
    return "\n".join([line] + [f"  failed: {f}" for f in result.failures])


def register(app: typer.Typer) -> None:
    app.command()(metrics)
    app.command()(canary)
