"""The declared contracts: the committed AsyncAPI documents and README table match the code,
together they name every stream of the topology with its payload schema, and the channels are
typed: a handler must take the channel's events, a service may publish only what it declares."""

import re

import pytest
import yaml

from services.router.contract import contract as router_contract
from shared.contracts import Channel, check_handler
from shared.effects import Effects
from shared.schemas.events import (
    AgencyResponse,
    CaseAcknowledged,
    ReportSubmitted,
    ReportTriaged,
    SlaBreached,
)
from shared.topology import Topology
from tipline import docgen


def test_committed_asyncapi_documents_and_readme_table_match_the_code():
    stale = [str(p.relative_to(docgen.ROOT)) for p in docgen.stale()]
    assert not stale, f"stale: {stale}; run python -m tipline.docgen"


def _documents() -> dict[str, dict]:
    return {module.contract(Topology()).service: yaml.safe_load(module.ASYNCAPI.read_text())
            for module in docgen.SERVICES}


def test_every_stream_of_the_topology_is_documented_with_its_payload_schema():
    topology = Topology()
    streams = {s for group in topology.consumed(["{agency_id}"]).values() for s in group}
    streams |= {*topology.submitted.values(), *topology.triaged.values()}
    documented: dict[str, set[str]] = {}
    for service, doc in _documents().items():
        schemas = doc["components"]["schemas"]
        for channel in doc["channels"].values():
            for ref in channel["messages"].values():
                name = ref["$ref"].rsplit("/", 1)[-1]
                key = next(k for k in doc["components"]["messages"]
                           if re.sub(r"[^a-z]", "", k.lower()) == re.sub(r"[^a-z]", "",
                                                                          _unquote(name).lower()))
                payload = doc["components"]["messages"][key]["payload"]
                assert _resolves(payload, schemas), (service, channel["address"])
            documented.setdefault(channel["address"], set()).add(service)
    assert streams <= set(documented), sorted(streams - set(documented))
    # every stream has its producer and its readers documented
    assert documented[topology.routed] >= {"router", "tracker"}
    assert documented[topology.agency_inbox_pattern] == {"router", "agencies"}


def test_a_channel_names_its_streams_and_knows_its_events():
    topology = Topology()
    router = router_contract(topology)
    assert router.produced(topology.agency_inbox("icac-oh")).event.__name__ == "CaseAssigned"
    assert router.produced(topology.routed) is not None
    assert router.produced(topology.triaged["p1"]) is None
    assert router.produced(topology.agency_inbox("a:b")) is None
    responses = Channel(topology.agency_responses, AgencyResponse, "responses")
    assert responses.types == (CaseAcknowledged, *responses.types[1:])
    assert len(responses.types) == 3  # acknowledged, outcome, legal process


def on_submitted(event: ReportSubmitted, out: Effects) -> None: ...


def on_either(event: ReportSubmitted | SlaBreached, out: Effects) -> None: ...


def on_anything(event, out) -> None: ...


def test_a_handler_must_take_the_events_of_its_channel():
    topology = Topology()
    submitted = Channel(topology.submitted["standard"], ReportSubmitted, "in")
    check_handler(submitted, on_submitted)
    check_handler(submitted, on_either)
    with pytest.raises(TypeError, match="takes ReportSubmitted, but .* carries ReportTriaged"):
        check_handler(Channel(topology.triaged["p1"], ReportTriaged, "in"), on_submitted)
    with pytest.raises(TypeError, match="does not say which event"):
        check_handler(submitted, on_anything)
    with pytest.raises(TypeError, match="carries CaseOutcomeReported"):
        check_handler(Channel(topology.agency_responses, AgencyResponse, "in"),
                      lambda_free_acknowledged)


def lambda_free_acknowledged(event: CaseAcknowledged, out: Effects) -> None: ...


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def _resolves(payload: dict, schemas: dict) -> bool:
    """The payload is a schema, or names one that exists."""
    refs = re.findall(r"#/components/schemas/([^'\"]+)", str(payload))
    return bool(payload) and all(_unquote(ref) in schemas for ref in refs)
