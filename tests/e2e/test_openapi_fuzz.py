"""Schemathesis against the OpenAPI documents of intake and the tracker, served by the real
processes, with credentials: no server error, and every answer as its document says."""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from services.intake.app import create_app as create_intake
from services.intake.config import IntakeSettings
from services.tracker.app import create_app as create_tracker
from services.tracker.config import TrackerSettings
from shared import devkeys
from tests.faults.harness import quick_directory
from tests.helpers import BASIC as HELPERS_BASIC
from tipline.stack import Stack

pytestmark = pytest.mark.e2e

EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    stack = Stack.on_free_ports(tmp / "stack", settings={
        "TIPLINE_DIRECTORY_FILE": str(quick_directory(tmp / "agencies.json")),
        "TIPLINE_SIM_SECONDS_PER_HOUR": "0.02", "TIPLINE_LOG_LEVEL": "WARNING"})
    stack.start(timeout=90)
    yield stack
    stack.stop()


# The documents as the apps generate them (building an app connects to nothing); the requests go
# to the running processes.
intake = schemathesis.openapi.from_dict(create_intake(IntakeSettings()).openapi())
tracker = schemathesis.openapi.from_dict(create_tracker(TrackerSettings()).openapi())


def bearer(key: str):
    """Credentials as a schemathesis auth provider: left out of the requests that test what
    happens without them. The XML reporting API (/ispws) takes HTTP Basic instead."""

    class Bearer:
        def get(self, case, context):
            return key

        def set(self, case, data, context):
            scheme = BASIC if case.path.startswith("/ispws") else f"Bearer {data}"
            case.headers = {**(case.headers or {}), "Authorization": scheme}

    return Bearer


BASIC = HELPERS_BASIC["Authorization"]


intake.auth()(bearer(devkeys.ESP_KEY))
tracker.auth()(bearer(devkeys.ADMIN_KEY))


@intake.parametrize()
@EXAMPLES
def test_intake_answers_every_request_as_documented(case, stack):
    # The XML reporting API answers a bad request with HTTP 200 and an error code, as the protocol
    # it mirrors does (tests/integration/test_ispws.py checks the codes); every other check holds.
    protocol = [negative_data_rejection] if case.path.startswith("/ispws") else []
    case.call_and_validate(base_url=stack.url("intake"), excluded_checks=protocol)


@tracker.parametrize()
@EXAMPLES
def test_the_tracker_answers_every_request_as_documented(case, stack):
    # A fault's value must be in its kind's own range, its target and a poison's stream must be
    # the stack's: no one schema can say so, so a schema-valid request may be refused there (422
    # with a Problem, as documented; tests/integration/test_workshop_api.py checks each refusal).
    # Every other check holds on them, and every check everywhere else.
    state_dependent = case.path in ("/v1/faults/{kind}/{target}", "/v1/faults/poison") \
        and case.method in ("PUT", "POST")
    case.call_and_validate(base_url=stack.url("tracker"),
                           excluded_checks=[positive_data_acceptance] if state_dependent else [])
