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
events_app = typer.Typer(no_args_is_help=True, help="Catalog events for the streaming sidecar.")
app.add_typer(events_app, name="events")


def _settings():
    from vidvec.config import load_settings

    return load_settings()


def _publish(settings, catalog, store, command: str) -> None:
    """Refresh the vidvec page's picture of the space after a command changed it (never fails it)."""
    from vidvec.ui.state import publish

    try:
        publish(settings, catalog, store, written_by=f"vidvec {command}")
    except Exception as exc:  # the command's own work is done; the page is only behind
        typer.echo(f"warning: the vidvec page's state was not refreshed: {exc}", err=True)


@catalog_app.command("load")
def catalog_load(csv_path: Annotated[Path, typer.Argument(help="CSV(.gz) in the catalog schema")],
                 batch: int = typer.Option(2000, min=1, help="rows per write"),
                 events: bool = typer.Option(True, help="publish an event per changed row for the sidecar")) -> None:
    """Upsert catalog rows; bad rows are reported with their line and reason."""
    from contextlib import nullcontext

    from vidvec.catalog.factory import open_catalog
    from vidvec.catalog.loader import BadRow, read_csv

    loaded, bad, pending = 0, 0, []
    settings = _settings()
    with open_catalog(settings) as catalog, (_publisher(settings) if events else nullcontext()) as publish:
        for item in read_csv(csv_path):
            if isinstance(item, BadRow):
                bad += 1
                typer.echo(f"{csv_path}:{item.line}: {item.reason}", err=True)
                continue
            pending.append(item)
            if len(pending) >= batch:
                loaded += _upsert(catalog, pending, publish)
                pending = []
        loaded += _upsert(catalog, pending, publish)
        total = catalog.count(statuses=("public", "private", "deleted"))
    typer.echo(f"loaded {loaded} rows, {bad} bad; catalog holds {total} videos")


def _publisher(settings):
    from vidvec.stream.publish import open_publisher
    from vidvec.stream.settings import load_sidecar_settings

    return open_publisher(settings, load_sidecar_settings())


def _upsert(catalog, rows, publish) -> int:
    """Upsert rows, then publish an event for each row whose version or status changed."""
    from vidvec.stream.publish import catalog_events

    before = catalog.get_videos(v.video_id for v in rows) if publish else {}
    loaded = catalog.upsert_videos(rows)
    if publish:
        publish(catalog_events(before, rows))
    return loaded


@events_app.command("publish")
def events_publish(
        file: Annotated[Path | None, typer.Argument(help="JSONL, one event per line ('-' = stdin)")] = None,
        video_id: Annotated[str | None, typer.Option(help="one event for this video")] = None,
        op: Annotated[str, typer.Option(help="upsert | delete")] = "upsert",
        updated_at: Annotated[str | None, typer.Option(help="ISO-8601 version; default now")] = None,
        title: Annotated[str | None, typer.Option(help="makes the event self-contained")] = None) -> None:
    """Validate events and publish them to the sidecar's source (local log or Pub/Sub topic)."""
    from datetime import datetime, timezone

    from vidvec.core.events import BadEvent, parse_event

    if (file is None) == (video_id is None):
        raise VidvecError("give a JSONL file or --video-id (one of them)")
    if file is not None:
        lines = (sys.stdin.buffer if str(file) == "-" else _open_binary(file)).read().splitlines()
    else:
        body = {"video_id": video_id, "op": op,
                "updated_at": updated_at or datetime.now(timezone.utc).isoformat()}
        lines = [json.dumps(body | ({"title": title} if title is not None else {})).encode()]
    now, good, bad = datetime.now(timezone.utc), [], 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            parse_event(line, now)
            good.append(line)
        except BadEvent as exc:
            bad += 1
            typer.echo(f"{file or 'event'}:{number}: {exc}", err=True)
    with _publisher(_settings()) as publish:
        published = publish(good)
    typer.echo(f"published {published} events, {bad} bad")
    if bad and not good:
        raise VidvecError("nothing valid to publish")


def _open_binary(path: Path):
    if not path.exists():
        raise VidvecError(f"no such file: {path}")
    return open(path, "rb")


@app.command()
def sidecar(drain: Annotated[bool, typer.Option("--drain", help="process the backlog, then exit")] = False) -> None:
    """The streaming sidecar: catalog events -> Qdrant writes (settings: VIDVEC_SIDECAR_*)."""
    from vidvec.stream.runner import configure_logging, run_sidecar
    from vidvec.stream.settings import load_sidecar_settings

    configure_logging()
    sc = load_sidecar_settings()
    run_sidecar(_settings(), sc.model_copy(update={"drain": True}) if drain else sc)


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
        indexed = "" if s.indexed_vectors is None else f"  indexed: {s.indexed_vectors}"
        typer.echo(f"{s.name}  aliases: {aliases}  points: {s.points}  status: {s.status}{indexed}\n"
                   f"    engine: {s.engine}\n    {meta}")


def _thresholds(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise VidvecError(f"--threshold wants NAME=VALUE, got {pair!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise VidvecError(f"--threshold {name}: {value!r} is not a number") from None
    return out


@app.command()
def audit(target: Annotated[str, typer.Argument(help="alias or collection to audit")],
          k: Annotated[int, typer.Option(min=1, max=100, help="neighbours per query")] = 10,
          sample: Annotated[int, typer.Option(min=1, max=100_000, help="queries, stratified by language")] = 400,
          seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
          hnsw_ef: Annotated[int | None, typer.Option(
              min=1, max=10_000, help="search-time ef; default the collection's own")] = None,
          threshold: Annotated[list[str] | None, typer.Option(
              help="NAME=VALUE, e.g. min_recall=0.9 (see AuditThresholds)")] = None,
          as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Recall@k of TARGET against exact kNN, coverage and staleness; exit 1 if it fails."""
    from datetime import datetime, timezone

    from vidvec.audit import run_audit
    from vidvec.catalog.factory import open_catalog
    from vidvec.core.recall import AuditThresholds
    from vidvec.report import write_report
    from vidvec.store import open_store

    settings = _settings()
    limits = AuditThresholds.parse(_thresholds(threshold or []))
    with open_catalog(settings) as catalog, open_store(settings) as store:
        result = run_audit(catalog, store, target, at=datetime.now(timezone.utc), k=k, sample=sample,
                           seed=seed, thresholds=limits, hnsw_ef=hnsw_ef)
        write_report(result, settings.home / "reports")
        _publish(settings, catalog, store, "audit")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=str))
    else:
        overall = {s.filtered: s.recall for s in result.slices if s.slice == "overall"}
        typer.echo(f"{result.audit_id}: {'PASSED' if result.passed else 'FAILED'} ({result.engine})\n"
                   f"  recall@{k} {overall.get(False) or 0:.3f} unfiltered, {overall.get(True) or 0:.3f} "
                   f"filtered; coverage {result.coverage:.4f}; staleness {result.staleness:.4f}; "
                   f"mismatch {result.mismatch:.4f}")
        for failure in result.failures:
            typer.echo(f"  failed: {failure}")
        typer.echo(f"  report: {result.report}")
    if not result.passed:
        raise typer.Exit(1)


@app.command()
def promote(collection: Annotated[str, typer.Argument(help="collection (or an alias naming it) to promote")],
            alias: Annotated[str | None, typer.Option(help="alias to move; default the live alias")] = None,
            force_gate: Annotated[list[str] | None, typer.Option(
                help="promote despite this gate (ready, count, audit, family); repeatable")] = None,
            max_audit_age_hours: Annotated[float, typer.Option(help="newest passing audit max age")] = 24,
            count_tolerance: Annotated[float, typer.Option(help="allowed |points - catalog| / catalog")] = 0.001,
            ) -> None:
    """Move ALIAS to COLLECTION if every gate holds; a refusal exits 2 and names every failed gate."""
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.core.gates import GatePolicy
    from vidvec.promote import promote as promote_collection
    from vidvec.promote import writer_family
    from vidvec.store import open_store

    settings = _settings()
    policy = GatePolicy.parse({"max_audit_age_hours": max_audit_age_hours, "count_tolerance": count_tolerance})
    with open_catalog(settings) as catalog, open_store(settings) as store:
        done = promote_collection(catalog, store, store.resolve(collection), alias=alias or settings.live_alias,
                                  at=datetime.now(timezone.utc), actor="cli",
                                  family=writer_family(settings.embedder), policy=policy,
                                  force=tuple(force_gate or ()))
        _publish(settings, catalog, store, "promote")
    if done is None:
        typer.echo(f"{alias or settings.live_alias} already points at {collection}: nothing to do")
        return
    forced = f" (forced: {', '.join(done.forced)})" if done.forced else ""
    typer.echo(f"{done.alias} -> {done.collection} (previous: {done.previous or '-'}){forced}")


@app.command()
def rollback(alias: Annotated[str | None, typer.Option(help="alias to roll back; default the live alias")] = None,
             ) -> None:
    """Point ALIAS back at the target before its newest recorded move."""
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.promote import rollback as rollback_alias
    from vidvec.store import open_store

    settings = _settings()
    with open_catalog(settings) as catalog, open_store(settings) as store:
        done = rollback_alias(catalog, store, alias=alias or settings.live_alias,
                              at=datetime.now(timezone.utc), actor="cli")
        _publish(settings, catalog, store, "rollback")
    typer.echo(f"{done.alias} -> {done.collection} (rolled back from {done.previous})")


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
        if not dry_run:
            _publish(settings, catalog, store, "compact")
    typer.echo(json.dumps(result, default=str) if as_json else result["summary"])


@app.command()
def snapshot(target: Annotated[str | None, typer.Argument(help="alias or collection; default the live alias")] = None,
             ) -> None:
    """Snapshot one collection (Edge: a tar.gz under VIDVEC_HOME/edge/snapshots; server: Qdrant's own)."""
    from vidvec.store import open_store

    settings = _settings()
    with open_store(settings) as store:
        name = store.resolve(target or settings.live_alias)
        done = store.snapshot(name)
    if not done["created"]:
        raise VidvecError(f"no snapshot of {name}: {done['why']}")
    typer.echo(f"{name}: {done['name']}, {done['size']:,} bytes" + (
        f" at {done['location']}" if done.get("location") else ""))


@app.command()
def restore(snapshot_file: Annotated[str, typer.Argument(help="a snapshot `vidvec snapshot` or compaction took")],
            name: Annotated[str, typer.Argument(help="new collection name (an existing one is refused)")]) -> None:
    """Restore a snapshot as a new collection; point an alias at it with `vidvec promote`."""
    from vidvec.store import open_store

    with open_store(_settings()) as store:
        done = store.restore_snapshot(snapshot_file, name)
    typer.echo(f"restored {done['collection']} ({done['points']:,} points) from {snapshot_file}")


@app.command()
def rebuild(
    mode: Annotated[str, typer.Option(help="reembed (encode new texts) | reindex (stored vectors only)")] = "reembed",
    alias: Annotated[str | None, typer.Option(help="live alias to rebuild for; default VIDVEC_LIVE_ALIAS")] = None,
    shards: Annotated[int, typer.Option(help="catalog shards (1..256), loaded one after the other")] = 2,
    recipe: Annotated[str | None, typer.Option(help="text recipe version; default the DAG's")] = None,
    batch_size: Annotated[int, typer.Option(help="rows per read, encode and write batch")] = 256,
    hnsw_m: Annotated[int, typer.Option(help="HNSW m, built after the load")] = 16,
    ef_construct: Annotated[int, typer.Option(help="HNSW ef_construct")] = 100,
    hnsw_ef: Annotated[int | None, typer.Option(help="search-time ef; default ef_construct")] = None,
    full_scan_threshold_kb: Annotated[int, typer.Option(help="smaller filtered sets scan exactly")] = 200,
    indexing_threshold_kb: Annotated[int, typer.Option(help="segments above this get HNSW")] = 1000,
    quantization: Annotated[bool, typer.Option("--quantization/--no-quantization", help="int8 scalar")] = False,
    ready_timeout_s: Annotated[int, typer.Option(help="seconds to wait for the index")] = 1800,
    t0: Annotated[str | None, typer.Option(help="snapshot time T0, ISO-8601 with zone; default now")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False) -> None:
    """Rebuild into a new collection behind <alias>__next: the DAG's steps, in this process, with progress."""
    import logging
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.embed import get_embedder
    from vidvec.rebuild import RebuildOptions, plan_from_options, rebuild_all
    from vidvec.store import open_store

    values = {"mode": mode, "alias": alias, "shards": shards, "batch_size": batch_size, "hnsw_m": hnsw_m,
              "ef_construct": ef_construct, "hnsw_ef": hnsw_ef, "full_scan_threshold_kb": full_scan_threshold_kb,
              "indexing_threshold_kb": indexing_threshold_kb, "quantization": quantization,
              "ready_timeout_s": ready_timeout_s}
    options = RebuildOptions.parse(values | ({"recipe": recipe} if recipe else {}))
    at = _as_of(t0) if t0 else datetime.now(timezone.utc).replace(microsecond=0)
    settings = _settings()
    embedder = get_embedder(settings)
    plan = plan_from_options(options, live_alias=settings.live_alias, t0=at,
                             run_id=f"cli__{at.isoformat()}", embedder=embedder)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("vidvec").setLevel(logging.INFO)  # the shards' progress lines
    with open_catalog(settings) as catalog, open_store(settings) as store:
        try:
            done = rebuild_all(catalog, store, embedder, plan, options, say=lambda line: typer.echo(line, err=True))
        except BaseException:
            from vidvec.rebuild import mark_failed

            mark_failed(store, plan)  # as the DAG's failure callback: flag the half-built collection
            raise
        finally:
            _publish(settings, catalog, store, "rebuild")
    typer.echo(json.dumps(done) if as_json else
               f"{done['collection']}: {done['points']} points ({done['encoded']} encoded, {done['reused']} reused)"
               f"; {plan['next_alias']} -> it. Audit it, then `vidvec promote {done['collection']}`.")


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
