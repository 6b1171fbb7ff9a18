"""The development credentials are written in one module: every other piece of code takes them
from shared/devkeys.py."""

from pathlib import Path

from shared import devkeys

ROOT = Path(__file__).resolve().parents[2]
SECRETS = [devkeys.ESP_KEY, devkeys.ISPWS_PASSWORD, devkeys.ANALYST_KEY, devkeys.ADMIN_KEY,
           devkeys.AGENCY_KEY]
CODE = ("*.py", "*.js", "*.mjs", "*.sh")


def test_no_code_but_devkeys_writes_a_development_credential():
    found = []
    for layer in ("shared", "services", "tipline", "bench", "tests", ".ci"):
        for pattern in CODE:
            for path in (ROOT / layer).rglob(pattern):
                if "node_modules" in path.parts or path == ROOT / "shared" / "devkeys.py":
                    continue
                text = path.read_text(errors="replace")
                found += [f"{path.relative_to(ROOT)}: {s}" for s in SECRETS if s in text]
    assert not found, found


def test_the_settings_default_to_the_development_credentials():
    from services.intake.config import IntakeSettings
    from services.tracker.config import TrackerSettings

    intake, tracker = IntakeSettings(), TrackerSettings()
    assert intake.esp_keys == devkeys.ESP_KEYS and intake.ispws_users == devkeys.ISPWS_USERS
    assert (tracker.analyst_keys, tracker.admin_keys, tracker.agency_keys) == (
        devkeys.ANALYST_KEYS, devkeys.ADMIN_KEYS, devkeys.AGENCY_KEYS)
