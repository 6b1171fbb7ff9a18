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


def test_json_lines_carry_the_traceback_without_locals_or_refused_values(capsys):
    from pydantic import BaseModel

    class Contact(BaseModel):
        email: int

    configure_logging("unit", fmt="json")
    report = {"email": "someone@example.com"}  # a local of the failing frame
    try:
        Contact.model_validate(report)
    except Exception:
        get_logger("t").exception("handler failed")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    [exc] = line["exception"]
    assert exc["exc_type"] == "ValidationError" and exc["frames"]
    assert "test_json_lines_carry_the_traceback" in json.dumps(exc["frames"])
    assert "someone@example.com" not in json.dumps(line)
    assert "email" in exc["exc_value"]  # where it failed is kept
    logging.getLogger().handlers.clear()
