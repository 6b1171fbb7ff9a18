"""What the mock agencies consume (their inboxes) and produce (their responses)."""

from pathlib import Path

from shared.contracts import Channel, Contract, dead_letters
from shared.schemas.events import AgencyResponse, CaseAssigned
from shared.topology import AGENCIES, Topology

# The AsyncAPI document written from this contract (tipline.docgen), served at /asyncapi.
ASYNCAPI = Path(__file__).with_name("asyncapi.yaml")


def contract(topology: Topology) -> Contract:
    return Contract(
        service=AGENCIES, port=8005,
        summary="80 mock agencies from `shared/data/agencies.json`: each works through its backlog "
        "at its capacity, acknowledges after a simulated delay, sometimes never, sometimes reports "
        "an outcome",
        consumes=[Channel(topology.agency_inbox_pattern, CaseAssigned,
                          "One inbox per agency of the directory, all read together.")],
        produces=[Channel(topology.agency_responses, AgencyResponse,
                          "Acknowledgements and outcomes, released when their simulated time has "
                          "come."), dead_letters(topology)],
    )
