"""`vidvec ...`: work outside Airflow. Errors a user can fix exit 2 with one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from vidvec.errors import VidvecError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
catalog_app = typer.Typer(no_args_is_help=True, help="The video catalog (source of truth).")
app.add_typer(catalog_app, name="catalog")


def _settings():
    from vidvec.config import load_settings

    return load_settings()


@catalog_app.command("load")
def catalog_load(csv_path: Annotated[Path, typer.Argument(help="CSV(.gz) in the catalog schema")],
                 batch: int = typer.Option(2000, min=1, help="rows per write")) -> None:
    """Upsert catalog rows; bad rows are reported with their line and reason."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.catalog.loader import BadRow, read_csv

    loaded, bad, pending = 0, 0, []
    with open_catalog(_settings()) as catalog:
        for item in read_csv(csv_path):
            if isinstance(item, BadRow):
                bad += 1
                typer.echo(f"{csv_path}:{item.line}: {item.reason}", err=True)
                continue
            pending.append(item)
            if len(pending) >= batch:
                loaded += catalog.upsert_videos(pending)
                pending = []
        loaded += catalog.upsert_videos(pending)
        total = catalog.count(statuses=("public", "private", "deleted"))
    typer.echo(f"loaded {loaded} rows, {bad} bad; catalog holds {total} videos")


@app.command()
def similar(video_id: str,
            k: Annotated[int, typer.Option(min=1, max=1000, help="neighbours to return")] = 10,
            language: Annotated[str | None, typer.Option(help="only neighbours in this language")] = None,
            alias: Annotated[str | None, typer.Option(help="alias or collection; default the live alias")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Videos similar to VIDEO_ID, served through the live alias."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.core.ids import validate_video_id
    from vidvec.store import open_store

    validate_video_id(video_id)
    settings = _settings()
    with open_store(settings) as store:
        hits = store.similar(store.resolve(alias or settings.live_alias), video_id, k, language)
    with open_catalog(settings, read_only=True) as catalog:
        videos = catalog.get_videos([video_id] + [h.video_id for h in hits])
    rows = [{"video_id": h.video_id, "score": round(h.score, 4),
             "title": videos[h.video_id].title if h.video_id in videos else "",
             "language": h.payload.get("language"), "category": h.payload.get("category"),
             "owner_id": h.payload.get("owner_id")} for h in hits]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    me = videos.get(video_id)
    typer.echo(f"{video_id} [{me.language if me else '?'}] {me.title if me else ''}")
    for r in rows:
        typer.echo(f"  {r['score']:.3f}  [{r['language']}] {r['title'][:90]}  ({r['category']})")


@app.command()
def collections(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Collections, the aliases on them, point counts and metadata."""
    from dataclasses import asdict

    from vidvec.store import open_store

    with open_store(_settings()) as store:
        states = store.collections()
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in states], default=str))
        return
    if not states:
        typer.echo("no collections")
    for s in states:
        aliases = ", ".join(s.aliases) or "-"
        meta = " ".join(f"{k}={v}" for k, v in sorted(s.metadata.items()))
        typer.echo(f"{s.name}  aliases: {aliases}  points: {s.points}  status: {s.status}\n    {meta}")


@app.command()
def compact(dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan, change nothing")] = False,
            tombstone_days: Annotated[int, typer.Option(min=0, max=365, help="keep tombstones this long")] = 7,
            keep_newest: Annotated[int, typer.Option(min=1, max=100, help="collections per name always kept")] = 3,
            min_age_days: Annotated[int, typer.Option(min=0, max=3650, help="never drop younger ones")] = 7,
            snapshot: Annotated[bool, typer.Option("--snapshot/--no-snapshot", help="snapshot live")] = True,
            as_of: Annotated[str | None, typer.Option(help="the run's time, ISO-8601 with zone; default now")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="print every step as JSON")] = False) -> None:
    """Reconcile live (and __next) with the catalog, purge old tombstones, vacuum, drop old collections."""
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.compaction import compact_options, run
    from vidvec.embed import get_embedder
    from vidvec.store import open_store

    opts = compact_options(dry_run=dry_run, tombstone_days=tombstone_days, keep_newest=keep_newest,
                           min_age_days=min_age_days, snapshot=snapshot)
    now = _as_of(as_of) if as_of else datetime.now(timezone.utc)
    settings = _settings()
    with open_catalog(settings, read_only=dry_run) as catalog, open_store(settings) as store:
        result = run(catalog, store, lambda: get_embedder(settings), settings.live_alias, now, opts)
    typer.echo(json.dumps(result, default=str) if as_json else result["summary"])


def _as_of(text: str):
    from datetime import datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise VidvecError(f"--as-of {text!r} is not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise VidvecError(f"--as-of {text!r} needs a time zone, e.g. {text}+00:00")
    return value


@app.command()
def provision(
    pubsub_topic: Annotated[str | None, typer.Option(envvar="VIDVEC_SIDECAR_PUBSUB_TOPIC",
                                                     help="projects/P/topics/T")] = None,
    pubsub_subscription: Annotated[str | None, typer.Option(envvar="VIDVEC_SIDECAR_PUBSUB_SUBSCRIPTION",
                                                            help="projects/P/subscriptions/S")] = None,
    max_delivery_attempts: Annotated[int, typer.Option(min=5, max=100, help="then dead-letter")] = 5,
) -> None:
    """Create the Pub/Sub topic + subscription (dead-letter policy) and the BigQuery tables; idempotent."""
    from vidvec.provision import ensure_bigquery, ensure_pubsub

    settings = _settings()
    if pubsub_topic or pubsub_subscription:
        made = ensure_pubsub(pubsub_topic or "", pubsub_subscription or "",
                             max_delivery_attempts=max_delivery_attempts)
        typer.echo(f"pubsub: {json.dumps(made)}")
    if settings.catalog == "bigquery":
        typer.echo(f"bigquery: {', '.join(ensure_bigquery(settings))}")


def main() -> None:
    try:
        app()
    except VidvecError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
