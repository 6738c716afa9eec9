"""Reading the collection out of a triggering Asset event (plugins/vidvec_airflow.py)."""

from types import SimpleNamespace


def test_triggered_extra_reads_the_newest_event_and_tolerates_none():
    from vidvec_airflow import AUDIT_PASSED, REBUILT, triggered_extra

    events = {REBUILT: [SimpleNamespace(extra={"collection": "old"}), SimpleNamespace(extra={"collection": "c"})]}
    assert triggered_extra({"triggering_asset_events": events}, REBUILT, "collection") == "c"
    assert triggered_extra({"triggering_asset_events": events}, AUDIT_PASSED, "collection") is None
    assert triggered_extra({}, REBUILT, "collection") is None
    assert triggered_extra({"triggering_asset_events": {REBUILT: [SimpleNamespace(extra=None)]}},
                           REBUILT, "collection") is None
