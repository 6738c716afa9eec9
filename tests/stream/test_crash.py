"""Crash safety: kill -9 the sidecar at random moments while it consumes a few
thousand mixed events, restart it, drain: the store equals the expected state.

Versions are random, not increasing with log position, so each video's final
state sits anywhere in the stream: a batch lost at any kill point would show.
Title-sized texts and 100 videos with 4 title variants each keep the encoder's
share small; what is tested is the ack/replay path, not the encoder.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tests.stream.conftest import at, expected_hash, make_target, wait_for
from vidvec.core.types import Video, to_micros
from vidvec.store import open_store
from vidvec.stream.local import LocalLog
from vidvec.stream.settings import load_sidecar_settings

N_EVENTS, N_VIDEOS, ROUNDS = 3000, 100, 4
WORDS = ["Cooking", "Chess", "Cycling", "Climbing", "Coding", "Comedy", "Concert", "Camping"]


def mixed_events(rng: random.Random) -> tuple[list[bytes], dict[str, dict]]:
    """Out-of-order, duplicated upserts, privates and deletes; unique versions."""
    payloads, newest = [], {}
    versions = rng.sample(range(1, 10**8), N_EVENTS)  # milliseconds: random order, never equal
    for i in range(N_EVENTS):
        vid = f"vid{rng.randrange(N_VIDEOS)}"
        seconds = versions[i] / 1000
        roll = rng.random()
        if roll < 0.15:
            body = {"video_id": vid, "op": "delete", "updated_at": at(seconds)}
        else:
            body = {"video_id": vid, "op": "upsert", "updated_at": at(seconds), "language": "en",
                    "title": f"{WORDS[int(vid[3:]) % len(WORDS)]} {vid} part {rng.randrange(4)}",
                    "status": "private" if roll < 0.22 else "public"}
        raw = json.dumps(body).encode()
        payloads.append(raw)
        if rng.random() < 0.05:
            payloads.append(raw)  # a duplicate delivery
        if vid not in newest or _dt(body["updated_at"]) > _dt(newest[vid]["updated_at"]):
            newest[vid] = body
    return payloads, newest


def start(home):
    env = os.environ | {"VIDVEC_HOME": str(home), "VIDVEC_SIDECAR_HTTP_PORT": "0",
                        "VIDVEC_SIDECAR_MAX_BATCH_EVENTS": "64", "VIDVEC_SIDECAR_MAX_BATCH_SECONDS": "0.05"}
    return subprocess.Popen([sys.executable, "-m", "vidvec.stream"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing(settings, embedder):
    rng = random.Random(20261129)
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    payloads, newest = mixed_events(rng)
    log = LocalLog(load_sidecar_settings().log_file(settings.home))
    half = len(payloads) // 2
    log.publish(payloads[:half])

    rest = iter(range(half, len(payloads), 50))
    killing = threading.Event()
    killing.set()

    def trickle():  # more arrives while the sidecar is being killed
        for i in rest:
            log.publish(payloads[i:i + 50])
            if not killing.is_set():
                return
            time.sleep(0.15)

    feeder = threading.Thread(target=trickle)
    feeder.start()
    kills = []
    for _ in range(ROUNDS):
        proc = start(settings.home)
        before = log.acked()
        # Kill while it consumes: after it acked something new, at a random moment.
        progressed = wait_for(lambda b=before, p=proc: log.acked() > b or p.poll() is not None, timeout=120)
        assert progressed and proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(rng.uniform(0, 0.4))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stderr.close()
        kills.append(log.acked())
    killing.clear()
    feeder.join()
    for i in rest:  # whatever the kills did not reach waits for the restart
        log.publish(payloads[i:i + 50])
    assert len(set(kills)) == ROUNDS  # different kill points
    if log.backlog() == 0:  # a fast engine caught up: leave it work to resume on
        log.publish(payloads[-50:])

    final = start(settings.home)
    assert wait_for(lambda: log.backlog() == 0, timeout=300)
    final.send_signal(signal.SIGTERM)
    assert final.wait(30) == 0, final.stderr.read().decode()[-2000:]
    final.stderr.close()
    log.close()

    with open_store(settings) as store:
        got = {vid: p["payload"] for vid, p in store.get_points("live1", list(newest)).items()}
        vectors = store.get_points("live1", list(newest), with_vectors=True)
        assert store.count("live1") == len(newest)
    public_titles = {}
    for vid, body in newest.items():
        want_status = "deleted" if body["op"] == "delete" else body["status"]
        video = Video(vid, body.get("title", ""), language="en", updated_at=_dt(body["updated_at"]))
        assert (got[vid]["status"], got[vid]["updated_at"]) == (want_status, to_micros(video.updated_at)), vid
        if want_status == "public":
            assert got[vid]["text_hash"] == expected_hash(video), vid
            public_titles[vid] = body["title"]
    fresh = embedder.encode(list(public_titles.values()))
    for vid, want in zip(public_titles, fresh, strict=True):
        assert float(np.dot(vectors[vid]["vector"], want)) > 0.999, vid


def _dt(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso)
