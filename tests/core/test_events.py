"""Event validation (pure): what is accepted, and the reason for what is not."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from vidvec.core.events import BadEvent, Event, encode_event, newest_per_video, parse_event

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def raw(**body) -> bytes:
    return json.dumps(body).encode()


def test_thin_and_full_events_round_trip():
    thin = parse_event(raw(video_id="a1", op="upsert", updated_at="2026-11-29T11:00:00Z"), NOW)
    assert not thin.self_contained and thin.updated_at == datetime(2026, 11, 29, 11, tzinfo=timezone.utc)
    full = parse_event(raw(video_id="a1", op="upsert", updated_at="2026-11-29T11:00:00+01:00",
                           title="Hola", tags=["x"], status="private"), NOW)
    video = full.to_video()
    assert full.self_contained and video.status == "private" and video.tags == ("x",)
    assert video.updated_at == datetime(2026, 11, 29, 10, tzinfo=timezone.utc)
    assert parse_event(encode_event(full), NOW) == full
    gone = parse_event(raw(video_id="a1", op="delete", updated_at="2026-11-29T11:00:00Z"), NOW)
    assert gone.self_contained and gone.to_video().status == "deleted"


@pytest.mark.parametrize("payload, reason", [
    (b"{not json", "malformed JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"video_id": "a", "op": "upsert", "updated_at": "2026-01-01T00:00:00Z", "t": "\xff\xfe"}', "not UTF-8"),
    (raw(op="upsert", updated_at="2026-01-01T00:00:00Z"), "video_id: Field required"),
    (raw(video_id=12, op="upsert", updated_at="2026-01-01T00:00:00Z"), "video_id"),
    (raw(video_id="a b", op="upsert", updated_at="2026-01-01T00:00:00Z"), "invalid video id"),
    (raw(video_id="a", op="purge", updated_at="2026-01-01T00:00:00Z"), "op: Input should be 'upsert' or 'delete'"),
    (raw(video_id="a", op="upsert", updated_at=1700000000), "updated_at: Value error, must be an ISO-8601"),
    (raw(video_id="a", op="upsert", updated_at="yesterday"), "updated_at"),
    (raw(video_id="a", op="upsert", updated_at="2026-01-01T00:00:00Z", title=["x"]), "title"),
    (raw(video_id="a", op="upsert", updated_at="2026-01-01T00:00:00Z", title="x" * 5000), "title"),
    (raw(video_id="a", op="upsert", updated_at="2026-01-01T00:00:00Z", transcript="x" * 10_000_000),
     "event is 10,000,0"),
    (raw(video_id="a", op="upsert", updated_at="2026-01-01T00:00:00Z", title="t", transcript="x" * (5 * 2**20 + 1)),
     "transcript is at least 5,242,881 bytes of UTF-8; the limit is 5,242,880 (5 MiB)"),
    (raw(video_id="a", op="upsert", updated_at="2026-01-01T00:00:00Z", title="t", tags=["x"] * 201), "201 tags"),
    (b'{"video_id": "a", "op": "upsert", "updated_at": "2026-01-01T00:00:00Z", "title": "ab\\ud800"}',
     "title is not valid Unicode: a lone surrogate at character 2"),
    (raw(video_id="a", op="upsert", updated_at="2126-01-01T00:00:00Z"), "in the future"),
    (raw(video_id="a", op="upsert", updated_at="1969-12-31T23:59:59Z"), "before 1970"),
    (raw(video_id="a", op="upsert", updated_at="2026-01-01T00:00:00Z", status="gone"), "status"),
])
def test_bad_events_say_why(payload, reason):
    with pytest.raises(BadEvent, match=None) as info:
        parse_event(payload, NOW)
    assert reason in str(info.value)


def test_a_five_mib_transcript_in_any_script_is_an_event():
    """A long talk or podcast is input (the recipe cuts it), in Latin or Japanese script alike."""
    from vidvec.core.limits import EVENT_BYTES, TRANSCRIPT_BYTES

    latin = ("words and more words. " * 240_000)[:TRANSCRIPT_BYTES]
    japanese = ("日本語の長い講演です。" * 160_000)[:TRANSCRIPT_BYTES // 3]  # 3 bytes a character
    for transcript in (latin, japanese):
        assert TRANSCRIPT_BYTES - 2 <= len(transcript.encode()) <= TRANSCRIPT_BYTES
        body = json.dumps({"video_id": "talk", "op": "upsert", "updated_at": "2026-01-01T00:00:00Z",
                           "title": "A talk", "transcript": transcript, "tags": ["t"] * 150},
                          ensure_ascii=False).encode()
        event = parse_event(body, NOW)
        assert event.to_video().transcript == transcript and len(event.tags) == 150
        assert len(encode_event(event)) <= EVENT_BYTES  # what vidvec publishes fits its own limit


def test_clock_skew_is_tolerated_up_to_the_limit():
    soon = (NOW + timedelta(minutes=30)).isoformat()
    assert parse_event(raw(video_id="a", op="upsert", updated_at=soon), NOW)
    with pytest.raises(BadEvent):
        parse_event(raw(video_id="a", op="upsert", updated_at=soon), NOW, max_skew=timedelta(minutes=1))


def test_newest_per_video_and_delete_wins_a_tie():
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    events = [Event(video_id="a", op="upsert", updated_at=t + timedelta(seconds=s), title=str(s)) for s in (3, 1, 2)]
    events += [Event(video_id="b", op="upsert", updated_at=t, title="x"),
               Event(video_id="b", op="delete", updated_at=t),
               Event(video_id="b", op="upsert", updated_at=t, title="y")]
    kept = {e.video_id: e for e in newest_per_video(events)}
    assert kept["a"].title == "3" and kept["b"].op == "delete" and len(kept) == 2


def test_a_private_upsert_wins_a_tie_against_public_and_loses_to_a_delete_in_any_order():
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    public = Event(video_id="c", op="upsert", updated_at=t, title="p")
    private = Event(video_id="c", op="upsert", updated_at=t, title="q", status="private")
    gone = Event(video_id="c", op="delete", updated_at=t)
    for order in ([public, private], [private, public]):
        assert newest_per_video(order) == [private]
    for order in ([private, gone], [gone, private], [public, gone, private]):
        assert newest_per_video(order) == [gone]
    assert public.version.status == "public" and gone.version.status == "deleted"
