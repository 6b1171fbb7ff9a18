"""The declared contracts: the committed AsyncAPI documents and README table match the code, and
together they name every stream of the topology with its payload schema."""

import re

import yaml

from shared import contracts
from shared.topology import Topology


def test_committed_asyncapi_documents_and_readme_table_match_the_code():
    stale = []
    for contract in contracts.all_contracts():
        path = contracts.ASYNCAPI_DIR / f"{contract.service}.yaml"
        if not path.exists() or path.read_text() != contracts.render_document(contract):
            stale.append(path.name)
    readme = contracts.README.read_text()
    if contracts.render_readme(readme, contracts.all_contracts()) != readme:
        stale.append("README.md")
    assert not stale, f"stale: {stale}; run python -m shared.contracts"


def _documents() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in contracts.ASYNCAPI_DIR.glob("*.yaml")}


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


def test_a_service_may_publish_only_what_it_declares():
    router = next(c for c in contracts.all_contracts() if c.service == "router")
    may = router.may_publish()
    topology = Topology()
    assert may(topology.agency_inbox("icac-oh")) and may(topology.routed)
    assert not may(topology.triaged["p1"]) and not may(topology.agency_inbox("a:b"))


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def _resolves(payload: dict, schemas: dict) -> bool:
    """The payload is a schema, or names one that exists."""
    refs = re.findall(r"#/components/schemas/([^'\"]+)", str(payload))
    return bool(payload) and all(_unquote(ref) in schemas for ref in refs)
