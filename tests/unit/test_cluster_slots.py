"""On a Redis Cluster every key one commit touches must hash to one slot, or the commit fails with
CROSSSLOT in production first. Derived from the topology: every key and stream it can name, and
every stream every service's contract consumes and produces."""

import inspect
from typing import Any

import pytest
from redis.crc import key_slot

from shared.topology import Topology
from tipline import docgen

SAMPLE_ARGUMENTS: dict[str, Any] = {
    "agency_id": "icac-wa", "agency_ids": ["icac-wa", "intl-mock-gb"], "report_id": 42,
    "esp": "esp-one", "key": "idem-1", "group": "triage", "bucket": 7, "metric": "dark",
    "day": 3, "lane": "p1", "keyed": "abc123", "hash_key": "MD5:0f0f", "dead_letter_id": "1-0",
}


def names(value: Any) -> list[str]:
    """Every key name in a topology member's value (a name, a prefix, or a collection of them)."""
    if isinstance(value, str):
        return [value + "1" if value.endswith(":") else value]  # a prefix: one key under it
    if isinstance(value, dict):
        return [n for v in value.values() for n in names(v)]
    if isinstance(value, list | tuple | set | frozenset):
        return [n for v in value for n in names(v)]
    return []


def every_key(topology: Topology) -> dict[str, list[str]]:
    """Member of the topology -> the keys it names (methods called with sample arguments)."""
    found: dict[str, list[str]] = {}
    for name, member in inspect.getmembers(type(topology)):
        if name.startswith("_") or name in ("prefix", "cluster"):
            continue
        if isinstance(member, property):
            found[name] = names(getattr(topology, name))
        elif inspect.isfunction(member):
            params = [p for p in inspect.signature(member).parameters.values()
                      if p.name != "self"]
            if any(p.kind is p.VAR_POSITIONAL for p in params):  # key(*parts)
                found[name] = names(member(topology, "some", "key"))
            else:
                found[name] = names(member(topology, *(SAMPLE_ARGUMENTS[p.name] for p in params)))
    for name in ("submitted", "triaged"):
        found[name] = names(getattr(topology, name))
    return found


def test_every_key_the_topology_names_is_in_one_slot_on_a_cluster():
    topology = Topology("tipline", cluster=True)
    keys = every_key(topology)
    assert len(keys) > 40 and all(keys.values())  # every member named at least one key
    slots = {key: key_slot(key.encode()) for found in keys.values() for key in found}
    assert set(slots.values()) == {key_slot(topology.key("x").encode())}, slots


@pytest.mark.parametrize("module", docgen.SERVICES, ids=lambda m: m.__name__.split(".")[1])
def test_every_stream_a_service_reads_or_writes_is_in_that_slot(module):
    topology = Topology("tipline", cluster=True)
    contract = module.contract(topology)
    streams = [c.stream.replace("{agency_id}", "icac-wa")
               for c in (*contract.consumes, *contract.produces)]
    assert streams
    assert {key_slot(s.encode()) for s in streams} == {key_slot(topology.key("x").encode())}


def test_on_one_node_the_keys_are_as_they_always_were():
    assert Topology("tipline").routed == "tipline:reports:routed"
    assert Topology("tipline", cluster=True).routed == "tipline:{p0}:reports:routed"
    assert Topology("tipline").agency_inbox("icac-wa") == "tipline:agency:icac-wa:inbox"
