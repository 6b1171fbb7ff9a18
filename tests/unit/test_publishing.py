"""One publishing path: every stream write of the services, the shared library and the command
line is made by shared/publishing.py, which encodes the wire format and checks the writer's
contract."""

import re
from pathlib import Path

import pytest

from services.agencies.contract import contract as agencies_contract
from services.router.contract import contract as router_contract
from shared import wire
from shared.publishing import Publisher, Unpublishable, replay_args
from shared.schemas.events import CaseAcknowledged, CaseAssigned, ReportSubmitted
from shared.topology import Topology

ROOT = Path(__file__).resolve().parents[2]
WRITERS = ("shared", "services", "tipline", "bench")
# The hand-written chain the benchmark compares the pipeline with: raw on purpose.
RAW = {ROOT / "bench" / "raw_chain.py"}
PATH = ROOT / "shared" / "publishing.py"
STREAM_WRITE = re.compile(r"xadd", re.IGNORECASE)
ENCODING = re.compile(r"\bwire\.encode\(|\bencode\(.*\btraceparent\b")
T = Topology("unit")


def sources() -> list[Path]:
    return [p for layer in WRITERS for p in sorted((ROOT / layer).rglob("*.py"))
            if p not in RAW and p != PATH]


def test_no_stream_is_written_anywhere_but_the_publishing_path():
    """XADD in code or in a Lua script, and the wire encoding, stand in publishing.py alone."""
    found = {}
    for path in sources():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if STREAM_WRITE.search(line) or (ENCODING.search(line) and path.name != "wire.py"):
                found[f"{path.relative_to(ROOT)}:{number}"] = line.strip()
    assert not found, f"stream writes outside shared/publishing.py: {found}"


def test_the_check_finds_a_write_in_a_lua_script_and_in_code(tmp_path):
    assert STREAM_WRITE.search("  redis.call('XADD', KEYS[1], '*', unpack(ARGV))")
    assert STREAM_WRITE.search("await redis.xadd(stream, fields)")
    assert ENCODING.search("fields = wire.encode(event, traceparent)")


def router_case(**update) -> CaseAssigned:
    case = CaseAssigned(report_id=1, producer="router", esp="esp", agency_id="icac-oh",
                        priority=2, lane="p2", jurisdiction="US-OH", incident_type="x")
    return case.model_copy(update=update)


def test_a_publisher_writes_only_what_its_contract_produces():
    router = Publisher(router_contract(T))
    case = router_case()
    command = router.command(T.agency_inbox("icac-oh"), case, "00-trace")
    assert command[:3] == ("XADD", T.agency_inbox("icac-oh"), "*")
    assert dict(zip(command[3::2], command[4::2], strict=True)) == {
        wire.DATA: case.model_dump_json().encode(), wire.TRACE: b"00-trace"}
    with pytest.raises(Unpublishable, match="is not a stream router produces"):
        router.command(T.triaged["p1"], router_case())
    with pytest.raises(Unpublishable, match="carries CaseAssigned, not ReportSubmitted"):
        router.command(T.agency_inbox("icac-oh"), ReportSubmitted(
            report_id=1, producer="x", esp="e", lane="standard"))


def test_a_deferred_entry_keeps_its_trace_context_beside_its_event():
    agencies = Publisher(agencies_contract(T))
    ack = CaseAcknowledged(report_id=1, producer="agencies", esp="e", agency_id="icac-oh",
                           lane="p2", why="jurisdiction", after_hours=1.0)
    assert agencies.member(T.agency_responses, ack, "00-t") == b"00-t|" + ack.model_dump_json(
    ).encode()
    assert agencies.member(T.agency_responses, ack).startswith(b"|{")
    with pytest.raises(Unpublishable):
        agencies.member(T.agency_inbox("icac-oh"), ack)


def test_a_dead_letter_is_replayed_only_to_a_stream_of_the_stack():
    fields = {"data": "{}", "traceparent": "00-t"}
    assert replay_args(T.routed, fields, lambda s: s.startswith("unit:")) == [
        "data", "{}", "traceparent", "00-t"]
    with pytest.raises(Unpublishable):
        replay_args("elsewhere:stream", fields, lambda s: s.startswith("unit:"))
