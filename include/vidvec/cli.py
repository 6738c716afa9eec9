"""`vidvec ...`: work outside Airflow. Errors a user can fix exit 2 with one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from vidvec.cli_params import option
from vidvec.core.gates import GatePolicy
from vidvec.core.query import NeighbourQuery
from vidvec.errors import VidvecError, shown
from vidvec.params import AuditParams, CompactOptions, CompareOptions, RebuildParams

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
                 batch: int = typer.Option(2000, min=1, help="rows per write (also bounded by bytes)"),
                 events: bool = typer.Option(True, help="publish an event per written row for the sidecar")) -> None:
    """Upsert catalog rows; each bad row is reported with its line and reason, and then exit 1.

    updated_at is a video's version: an older row, or a changed one at the same
    version, is a bad row and the catalog keeps its own (a private or deleted
    row at the same version is written: a tombstone wins). Exit 0: no bad row;
    1: some rows were bad, the good ones are loaded; 2: the file cannot be read.
    """
    from contextlib import nullcontext

    from vidvec.catalog.factory import open_catalog
    from vidvec.catalog.ingest import load_rows
    from vidvec.catalog.loader import read_rows
    from vidvec.core.types import STATUSES

    rows = read_rows(csv_path)  # an unreadable file fails here, before the catalog is opened
    settings = _settings()
    with open_catalog(settings) as catalog, (_publisher(settings) if events else nullcontext()) as publish:
        done = load_rows(catalog, rows, publish=publish, batch_rows=batch,
                         report=lambda bad: typer.echo(f"{csv_path}:{bad.line}: {bad.reason}", err=True))
        total = catalog.count(statuses=STATUSES)
    typer.echo(f"loaded {done.loaded} rows, {done.unchanged} unchanged, {done.bad} bad; catalog holds {total} videos")
    if done.bad:
        raise typer.Exit(1)


def _publisher(settings):
    from vidvec.stream.publish import open_publisher
    from vidvec.stream.settings import load_sidecar_settings

    return open_publisher(settings, load_sidecar_settings())


@events_app.command("publish")
def events_publish(
        file: Annotated[Path | None, typer.Argument(help="JSONL, one event per line ('-' = stdin)")] = None,
        video_id: Annotated[str | None, typer.Option(help="one event for this video")] = None,
        op: Annotated[str, typer.Option(help="upsert | delete")] = "upsert",
        updated_at: Annotated[str | None, typer.Option(help="ISO-8601 version; default now")] = None,
        title: Annotated[str | None, typer.Option(help="makes the event self-contained")] = None) -> None:
    """Validate events and publish them to the sidecar's source (local log or Pub/Sub topic).

    Exit 0: every event published; 1: some lines of the file were bad (each reported), the
    rest published; 2: nothing could be read, or the --video-id event is invalid.
    """
    from contextlib import nullcontext
    from datetime import datetime, timezone

    from vidvec.core.events import BadEvent, parse_event
    from vidvec.stream.publish import publish_lines

    if (file is None) == (video_id is None):
        raise VidvecError("give a JSONL file or --video-id (one of them)")
    if file is not None:
        source = nullcontext(sys.stdin.buffer) if str(file) == "-" else _open_binary(file)
    else:
        body = {"video_id": video_id, "op": op,
                "updated_at": updated_at or datetime.now(timezone.utc).isoformat()}
        raw = json.dumps(body | ({"title": title} if title is not None else {})).encode()
        try:
            parse_event(raw, datetime.now(timezone.utc))
        except BadEvent as exc:
            raise VidvecError(str(exc)) from None  # the arguments themselves are wrong
        source = nullcontext([raw])
    with source as lines, _publisher(_settings()) as publish:
        published, bad = publish_lines(lines, publish, datetime.now(timezone.utc),
                                       report=lambda n, why: typer.echo(f"{file or 'event'}:{n}: {why}", err=True))
    typer.echo(f"published {published} events, {bad} bad")
    if bad:
        raise typer.Exit(1)


def _open_binary(path: Path):
    if path.is_dir():
        raise VidvecError(f"{path} is a directory: give a JSONL file")
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


# An id may start with '-' (YouTube's do): what is not one of the command's options is the id.
VIDEO_ID_ARGUMENT = {"ignore_unknown_options": True}


@app.command(context_settings=VIDEO_ID_ARGUMENT)
def similar(video_id: Annotated[str, typer.Argument(help="the video; an id starting with '-' works as is")],
            k: int = option(NeighbourQuery, "k"),
            min_score: float | None = option(NeighbourQuery, "min_score"),
            language: str | None = option(NeighbourQuery, "language"),
            category: list[str] = option(NeighbourQuery, "categories", "--category"),  # noqa: B008
            other_owners: bool = option(NeighbourQuery, "other_owners", "--other-owners"),
            exclude_owner: list[str] = option(NeighbourQuery, "exclude_owners", "--exclude-owner"),  # noqa: B008
            published_after: str | None = option(NeighbourQuery, "published_after"),
            published_before: str | None = option(NeighbourQuery, "published_before"),
            negative: list[str] = option(NeighbourQuery, "negative", "--not", metavar="ID"),  # noqa: B008
            strategy: str = option(NeighbourQuery, "strategy"),
            diverse: float | None = option(NeighbourQuery, "diversity", "--diverse", metavar="LAMBDA"),
            candidates: int = option(NeighbourQuery, "candidates"),
            max_per_owner: int | None = option(NeighbourQuery, "max_per_owner"),
            alias: Annotated[str | None, typer.Option(help="alias or collection; default the live alias")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Videos similar to VIDEO_ID, served through the live alias; repeat --category, --exclude-owner, --not.

    With --min-score the answer is confident when k neighbours reach it; --json carries `confident`.
    While a sidecar holds the embedded store, it answers (the same answer).
    """
    from vidvec.catalog.factory import open_catalog
    from vidvec.core.ids import validate_video_id
    from vidvec.errors import StoreInUse
    from vidvec.query import titled_answer
    from vidvec.read_client import held_reads
    from vidvec.store import open_store

    validate_video_id(video_id)
    query = NeighbourQuery.parse({
        "k": k, "min_score": min_score, "language": language, "categories": category, "other_owners": other_owners,
        "exclude_owners": exclude_owner, "published_after": published_after, "published_before": published_before,
        "negative": negative, "strategy": strategy, "diversity": diverse, "candidates": candidates,
        "max_per_owner": max_per_owner})
    settings = _settings()
    target = alias or settings.live_alias
    try:
        with open_store(settings) as store, open_catalog(settings, read_only=True) as catalog:
            found = titled_answer(store, catalog, target, video_id, query)
    except StoreInUse as exc:
        found = held_reads(settings, exc).similar(target, video_id, query)
    if as_json:
        typer.echo(json.dumps(found.answer, ensure_ascii=False))
        return
    _print_neighbours(found.answer, found.video)


def _print_neighbours(answer: dict, me: dict | None) -> None:
    typer.echo(f"{answer['video_id']} [{me['language'] if me else '?'}] {me['title'] if me else ''}")
    for r in answer["hits"]:
        typer.echo(f"  {r['score']:.3f}  [{r['language']}] {r['title'][:90]}  ({r['category']})")
    if not answer["confident"]:
        floor = f" at or above {answer['min_score']}" if answer["min_score"] is not None else ""
        typer.echo(f"  not confident: {len(answer['hits'])} of {answer['k']} neighbours{floor}")


@app.command()
def collections(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Collections, the aliases on them, point counts and metadata (through a sidecar holding the store)."""
    from dataclasses import asdict

    from vidvec.errors import StoreInUse
    from vidvec.read_client import held_reads
    from vidvec.store import open_store

    settings = _settings()
    try:
        with open_store(settings) as store:
            states = store.collections()
    except StoreInUse as exc:
        states = held_reads(settings, exc).collections()
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
            raise VidvecError(f"--threshold wants NAME=VALUE, got {shown(pair)}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise VidvecError(f"--threshold {shown(name)}: {shown(value)} is not a number") from None
    return out


@app.command()
def compare(a: Annotated[str, typer.Argument(help="alias or collection A (e.g. the live alias)")],
            b: Annotated[str, typer.Argument(help="alias or collection B (e.g. videos__next, videos_b)")],
            k: int = option(CompareOptions, "k"),
            per_language: int = option(CompareOptions, "per_language", "--per-language"),
            seed: int = option(CompareOptions, "seed"),
            as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Per language: overlap of A's and B's top-k, category precision@k and audited recall of each."""
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.compare import compare as run_compare
    from vidvec.compare_report import table, write_report
    from vidvec.store import open_store

    opts = CompareOptions.parse({"k": k, "per_language": per_language, "seed": seed})
    settings = _settings()
    with open_catalog(settings, read_only=True) as catalog, open_store(settings) as store:
        result = run_compare(catalog, store, a, b, at=datetime.now(timezone.utc), opts=opts)
        report = write_report(result, settings.home / "reports")
        _publish(settings, catalog, store, "compare")  # the page's picture (it lists the comparisons)
    if as_json:
        typer.echo(json.dumps(result.to_dict() | {"report": str(report)}, default=str))
        return
    typer.echo(f"A {result.a.target} -> {result.a.collection} ({result.a.family}, recipe {result.a.recipe})\n"
               f"B {result.b.target} -> {result.b.collection} ({result.b.family}, recipe {result.b.recipe})")
    typer.echo("\n".join(table(result)) + f"\n{result.skipped} sampled videos not served by one side\n"
               f"report: {report}")


@app.command()
def audit(target: Annotated[str, typer.Argument(help="alias or collection to audit")],
          k: int = option(AuditParams, "k"),
          sample: int = option(AuditParams, "sample"),
          seed: int = option(AuditParams, "seed"),
          hnsw_ef: int | None = option(AuditParams, "hnsw_ef"),
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

    run = AuditParams.parse({"target": target, "k": k, "sample": sample, "seed": seed, "hnsw_ef": hnsw_ef})
    limits = AuditThresholds.parse(_thresholds(threshold or []))
    settings = _settings()
    with open_catalog(settings) as catalog, open_store(settings) as store:
        result = run_audit(catalog, store, run.target, at=datetime.now(timezone.utc), k=run.k, sample=run.sample,
                           seed=run.seed, thresholds=limits, hnsw_ef=run.hnsw_ef)
        write_report(result, settings.home / "reports")
        _publish(settings, catalog, store, "audit")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=str))
    else:
        overall = {s.filtered: s.recall for s in result.slices if s.slice == "overall"}
        typer.echo(f"{result.audit_id}: {'PASSED' if result.passed else 'FAILED'} ({result.engine})\n"
                   f"  recall@{k} {overall.get(False) or 0:.3f} unfiltered, {overall.get(True) or 0:.3f} "
                   f"filtered; coverage {result.coverage:.4f}; staleness {result.staleness:.4f}; "
                   f"mismatch {result.mismatch:.4f}; foreign {result.foreign:.4f}")
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
            max_audit_age_hours: float = option(GatePolicy, "max_audit_age_hours"),
            count_tolerance: float = option(GatePolicy, "count_tolerance"),
            ) -> None:
    """Move ALIAS to COLLECTION if every gate holds; a refusal exits 2 and names every failed gate."""
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.embed.registry import families
    from vidvec.promote import promote as promote_collection
    from vidvec.store import open_store

    settings = _settings()
    policy = GatePolicy.parse({"max_audit_age_hours": max_audit_age_hours, "count_tolerance": count_tolerance})
    with open_catalog(settings) as catalog, open_store(settings) as store:
        done = promote_collection(catalog, store, store.resolve(collection), alias=alias or settings.live_alias,
                                  at=datetime.now(timezone.utc), actor="cli",
                                  families=families(settings), policy=policy,
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
def compact(dry_run: bool = option(CompactOptions, "dry_run", "--dry-run"),
            tombstone_days: int = option(CompactOptions, "tombstone_days"),
            keep_newest: int = option(CompactOptions, "keep_newest"),
            min_age_days: int = option(CompactOptions, "min_age_days"),
            snapshot: bool = option(CompactOptions, "snapshot", "--snapshot/--no-snapshot"),
            batch_size: int = option(CompactOptions, "batch_size"),
            as_of: Annotated[str | None, typer.Option(help="the run's time, ISO-8601 with zone; default now")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="print every step as JSON")] = False) -> None:
    """Reconcile every fed collection (live, __next, A/B, rollback targets) with the catalog, purge old tombstones,
    vacuum, drop old collections, prune stored vectors no collection needs."""
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.compaction import run
    from vidvec.embed import embedder_of
    from vidvec.store import open_store

    opts = CompactOptions.parse({"dry_run": dry_run, "tombstone_days": tombstone_days, "keep_newest": keep_newest,
                                 "min_age_days": min_age_days, "snapshot": snapshot, "batch_size": batch_size})
    now = _as_of(as_of) if as_of else datetime.now(timezone.utc)
    settings = _settings()
    with open_catalog(settings, read_only=dry_run) as catalog, open_store(settings) as store:
        result = run(catalog, store, lambda meta: embedder_of(meta, settings), settings.live_alias, now, opts,
                     settings.rollback_window_hours)
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
    embedder: str = option(RebuildParams, "embedder"),
    mode: str = option(RebuildParams, "mode"),
    alias: str | None = option(RebuildParams, "alias"),
    shards: int = option(RebuildParams, "shards"),
    recipe: str = option(RebuildParams, "recipe"),
    batch_size: int = option(RebuildParams, "batch_size"),
    hnsw_m: int = option(RebuildParams, "hnsw_m"),
    ef_construct: int = option(RebuildParams, "ef_construct"),
    hnsw_ef: int | None = option(RebuildParams, "hnsw_ef"),
    full_scan_threshold_kb: int = option(RebuildParams, "full_scan_threshold_kb"),
    indexing_threshold_kb: int = option(RebuildParams, "indexing_threshold_kb"),
    quantization: bool = option(RebuildParams, "quantization", "--quantization/--no-quantization"),
    ready_timeout_s: int = option(RebuildParams, "ready_timeout_s"),
    t0: Annotated[str | None, typer.Option(help="snapshot time T0, ISO-8601 with zone; default now")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False) -> None:
    """Rebuild into a new collection behind <alias>__next: the DAG's steps, in this process, with progress."""
    import logging
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.embed import embedder_for
    from vidvec.embed.parallel import encode_cores, on_cores
    from vidvec.embed.registry import identity
    from vidvec.rebuild import mark_failed, plan_from_params, rebuild_all
    from vidvec.store import open_store

    params = RebuildParams.parse({
        "embedder": embedder, "mode": mode, "alias": alias, "shards": shards, "recipe": recipe,
        "batch_size": batch_size,
        "hnsw_m": hnsw_m, "ef_construct": ef_construct, "hnsw_ef": hnsw_ef,
        "full_scan_threshold_kb": full_scan_threshold_kb, "indexing_threshold_kb": indexing_threshold_kb,
        "quantization": quantization, "ready_timeout_s": ready_timeout_s})
    at = _as_of(t0) if t0 else datetime.now(timezone.utc).replace(microsecond=0)
    settings = _settings()
    plan = plan_from_params(params, live_alias=settings.live_alias, t0=at, run_id=f"cli__{at.isoformat()}",
                            embedder=identity(settings, params.embedder or None))
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("vidvec").setLevel(logging.INFO)  # the shards' progress lines
    with (open_catalog(settings) as catalog, open_store(settings) as store,
          on_cores(embedder_for(plan.family, plan.model_id, settings), encode_cores(settings)) as encoder):
        try:
            done = rebuild_all(catalog, store, encoder, plan, params, settings.parts,
                               say=lambda line: typer.echo(line, err=True))
        except BaseException:
            mark_failed(store, plan)  # as the DAG's failure callback: flag the half-built collection
            raise
        finally:
            _publish(settings, catalog, store, "rebuild")
    typer.echo(json.dumps(done) if as_json else
               f"{done['collection']}: {done['points']} points ({done['encoded']} encoded, {done['reused']} reused)"
               f"; {plan.next_alias} -> it. Audit it, then `vidvec promote {done['collection']}`.")


def _as_of(text: str):
    from datetime import datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise VidvecError(f"--as-of {shown(text)} is not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise VidvecError(f"--as-of {shown(text)} needs a time zone, e.g. {text[:40]}+00:00")
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


def _register_more() -> None:
    from vidvec.cli_slo import register

    register(app)  # metrics, canary


_register_more()


def main() -> None:
    """Run a command; an error the user can fix is one line on stderr and exit 2 (vidvec.boundary)."""
    import warnings

    from vidvec.boundary import explain, one_line

    # qdrant-client checks a server's version in a thread of its own and warns on stderr when it cannot:
    # with the server down that races the one line below, which already says it cannot be reached.
    warnings.filterwarnings("ignore", message="Failed to obtain server version", category=UserWarning)
    try:
        code = app(standalone_mode=False)  # typer would draw usage errors as a box
    except Exception as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is printed already (typer checks it so too)
            sys.exit(2)
        line = explain(exc)
        if line is None:
            raise
        typer.echo(f"error: {one_line(line)}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
