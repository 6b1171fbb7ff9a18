"""Personal fields never reach a log line, even when a call passes one by mistake."""

import json
import logging

from shared.logging import bound, configure_logging, get_logger


def test_personal_keys_are_redacted_and_report_ids_are_bound(capsys):
    configure_logging("unit", fmt="json")
    with bound(report_id=42, event_id="e-1"):
        get_logger("t").info("something", email="someone@example.com", ip="192.0.2.1", lane="p1")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["email"] == "[redacted]" and line["ip"] == "[redacted]"
    assert (line["report_id"], line["event_id"], line["service"], line["lane"]) == (42, "e-1", "unit", "p1")
    logging.getLogger().handlers.clear()
