import gzip

import pytest

from vidvec.catalog.loader import BadRow, read_csv
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
