import gzip

import pytest

from vidvec.catalog.loader import BadRow, Row, read_csv, read_rows
from vidvec.errors import VidvecError

HEADER = "video_id,title,description,tags,transcript,language,owner_id,category,status,published_at,updated_at\n"


def test_sample_catalog_parses_completely(sample_videos):
    assert len(sample_videos) == 7841
    assert not [r for r in sample_videos if isinstance(r, BadRow)]
    assert {v.language for v in sample_videos} >= {"en", "fr", "ru", "ko", "ja", "pt", "es", "de"}


def test_bad_rows_report_line_and_reason_and_good_rows_survive(tmp_path):
    path = tmp_path / "c.csv.gz"
    with gzip.open(path, "wt", newline="") as f:
        f.write(HEADER)
        f.write('ok1,"multi\nline title",d,a|b,,en,o,c,public,2020-01-01T00:00:00Z,2020-01-02T00:00:00Z\n')
        f.write("bad id!,t,d,,,en,o,c,public,,2020-01-02T00:00:00Z\n")
        f.write("ok2,t,d,,,en,o,c,hidden,,2020-01-02T00:00:00Z\n")
        f.write("ok3,t,d,,,en,o,c,public,,yesterday\n")
        f.write("ok4,,d,,,en,o,c,public,,2020-01-02T00:00:00Z\n")
        f.write("ok5,t,d,x| y |,,fr,o,c,deleted,,2020-01-02T00:00:00\n")
    items = list(read_csv(path))
    good = [i for i in items if not isinstance(i, BadRow)]
    bad = [i for i in items if isinstance(i, BadRow)]
    assert [v.video_id for v in good] == ["ok1", "ok5"]
    assert good[0].title == "multi\nline title" and good[0].tags == ("a", "b")
    assert good[1].tags == ("x", "y") and good[1].updated_at.tzinfo is not None
    assert [(b.line, b.reason.split()[0]) for b in bad] == [
        (4, "invalid"), (5, "status"), (6, "updated_at"), (7, "missing")]


def test_missing_columns_and_files_are_clear_errors(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("video_id,title\nx,y\n")
    with pytest.raises(VidvecError, match="header lacks"):
        list(read_csv(path))
    with pytest.raises(VidvecError, match="no such file"):
        list(read_csv(tmp_path / "missing.csv"))


def _row(video_id, title="t", transcript="", status="public", t="2020-01-01T00:00:00Z"):
    return f"{video_id},{title},,,{transcript},en,o,c,{status},,{t}\n"


def _load(path):
    items = list(read_rows(path))
    return ([(i.line, i.video.video_id) for i in items if isinstance(i, Row)],
            [(i.line, i.reason) for i in items if isinstance(i, BadRow)])


def test_invalid_utf8_anywhere_is_one_bad_row_at_its_line(tmp_path):
    early = tmp_path / "early.csv"  # inside the first 8 KB (the decoder's first read)
    early.write_bytes((HEADER + _row("v1")).encode() + _row("v2", "caf\xe9").encode("latin-1")
                      + _row("v3").encode())
    good, bad = _load(early)
    assert good == [(2, "v1"), (4, "v3")]
    assert bad == [(3, "title is not valid UTF-8 (byte 0xe9 at character 3)")]

    late = tmp_path / "late.csv.gz"  # far past 8 KB, after a record spanning three lines
    body = "".join(_row(f"a{i}", "x" * 200) for i in range(60))
    body += 'm1,"three\nline\ntitle",,,,en,o,c,public,,2020-01-01T00:00:00Z\n'
    with gzip.open(late, "wb") as f:
        f.write((HEADER + body).encode() + _row("bad", "\xff\xfe").encode("latin-1")
                + "".join(_row(f"b{i}") for i in range(20)).encode())
    good, bad = _load(late)
    assert [v for _, v in good] == [f"a{i}" for i in range(60)] + ["m1"] + [f"b{i}" for i in range(20)]
    assert good[60] == (62, "m1") and good[61] == (66, "b0")
    assert bad == [(65, "title is not valid UTF-8 (byte 0xff at character 0)")]


def test_long_fields_load_over_long_ones_are_bad_rows_and_reading_goes_on(tmp_path):
    from vidvec.core.limits import CSV_RECORD_CHARS, TRANSCRIPT_BYTES

    talk = "words, more words; " * (TRANSCRIPT_BYTES // 19)  # a 5 MiB transcript, quoted (commas)
    unit = 'quoted, ""twice"" and\nover lines '
    absurd = unit * (CSV_RECORD_CHARS // len(unit) + 1)  # one quoted field past the record limit
    spans = absurd.count("\n") + 1
    path = tmp_path / "long.csv"
    path.write_text(HEADER + _row("v1") + _row("talk", transcript=f'"{talk}"')
                    + _row("long_title", title="y" * 140_000) + _row("v2")
                    + _row("absurd", transcript=f'"{absurd}"') + _row("v3"), encoding="utf-8")
    items = list(read_rows(path))
    good = [(i.line, i.video.video_id) for i in items if isinstance(i, Row)]
    assert good == [(2, "v1"), (3, "talk"), (5, "v2"), (6 + spans, "v3")]
    assert next(i.video for i in items if isinstance(i, Row) and i.video.video_id == "talk").transcript == talk
    bad = [(i.line, i.reason) for i in items if isinstance(i, BadRow)]
    assert bad[0] == (4, "title is 140,000 characters; the limit is 1,000")
    assert bad[1][0] == 6 and bad[1][1].startswith(f"record is longer than {CSV_RECORD_CHARS:,} characters")
    assert bad[1][1].endswith(f"(lines 6-{5 + spans})") and len(bad) == 2


def test_an_unclosed_quote_is_reported_with_the_lines_it_swallowed(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(HEADER + _row("v1") + 'v2,"never closed,,,,en,o,c,public,,2020-01-01T00:00:00Z\n'
                    + _row("v3") + _row("v4"))
    good, bad = _load(path)
    assert good == [(2, "v1")]
    assert len(bad) == 1 and bad[0][0] == 3 and bad[0][1].endswith("(lines 3-5)")


def test_files_that_cannot_be_read_are_one_clear_error(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(VidvecError, match="is a directory"):
        list(read_csv(tmp_path / "d"))
    fake = tmp_path / "fake.csv.gz"
    fake.write_text(HEADER + _row("v1"))
    with pytest.raises(VidvecError, match="ends in .gz but is not gzip-compressed"):
        list(read_csv(fake))
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(VidvecError, match="is empty"):
        list(read_csv(empty))


def test_a_gzip_stream_broken_midway_keeps_the_rows_before_it(tmp_path):
    whole = gzip.compress((HEADER + "".join(_row(f"v{i}", "x" * 50) for i in range(3000))).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    items = list(read_rows(path))
    good = [i for i in items if isinstance(i, Row)]
    assert 100 < len(good) < 3000 and [g.video.video_id for g in good] == [f"v{i}" for i in range(len(good))]
    assert isinstance(items[-1], BadRow) and "unreadable from here on" in items[-1].reason


def test_a_byte_order_mark_and_blank_lines_are_no_bad_rows(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\n" + _row("v1") + "\n\n" + _row("v2")).encode())
    assert _load(path) == ([(3, "v1"), (6, "v2")], [])


def test_record_ends_follow_the_csv_module_exactly():
    """_scan (used to skip over-long records) ends records where csv.reader does, on random CSV text."""
    import csv
    import io
    import random

    from vidvec.catalog.loader import QUOTED, START, _step

    rng = random.Random(5)
    for _ in range(5000):
        text = "".join(rng.choice(['"', '"', ",", "a", " ", "\n", "\r\n", '""']) for _ in range(rng.randrange(1, 30)))
        reader = csv.reader(io.StringIO(text, newline=""))
        expected = [reader.line_num for _ in reader]
        ends, state = [], START
        for number, line in enumerate(io.StringIO(text, newline=""), 1):
            state, ended = _step(state, line)
            if ended or not line.endswith(("\n", "\r")):
                ends.append(number)
                state = START
        if state == QUOTED and (not ends or ends[-1] != number):
            ends.append(number)
        assert ends == expected, repr(text)
