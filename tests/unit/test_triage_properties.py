"""Properties of triage over generated reports (hypothesis)."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from services.triage.domain import load_known_hashes, triage
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from tests.report_builder import INCIDENTS, build, file

KNOWN = load_known_hashes(DATA_DIR / "known_hashes.json")
TEXTS = [None, "Synthetic chat about school", "Synthetic: let's meet tonight",
         "Synthetic: come over this weekend", "Synthetic: sent a picture"]
FILE_FLAGS = ["viral", "potentialMeme", "generativeAi", "infant", "physicalHarm", "violenceGore",
              "liveStreaming"]


@st.composite
def files(draw):
    flags = draw(st.lists(st.sampled_from(FILE_FLAGS), unique=True, max_size=3))
    return file(cls=draw(st.sampled_from([None, "A1", "A2", "B1", "B2"])), known=draw(st.booleans()),
                seed=draw(st.integers(0, 20)), **{f: True for f in flags})


victims = st.fixed_dictionaries({"id": st.booleans(), "age": st.none() | st.integers(1, 40)})
specs = st.fixed_dictionaries({
    "incident": st.sampled_from(list(INCIDENTS)),
    "escalate": st.none() | st.just("Synthetic: the ESP escalated this"),
    "annotations": st.fixed_dictionaries({}, optional={
        k: st.booleans() for k in ("sextortion", "sadisticOnlineExploitation", "informational",
                                   "spam", "minorToMinorInteraction")}),
    "user": st.lists(st.sampled_from(["id", "screen", "email", "phone"]), unique=True).map(tuple),
    "ips": st.lists(st.tuples(st.sampled_from(["192.0.2.5", "198.51.100.9", "203.0.113.200"]),
                              st.booleans()), max_size=3).map(tuple),
    "location": st.none() | st.tuples(st.sampled_from(["US", "GB", "DE"]),
                                      st.none() | st.sampled_from(["CA", "TX"])),
    "victims": st.lists(victims, max_size=2).map(tuple),
    "files": st.lists(files(), max_size=3).map(tuple),
    "content": st.sampled_from(TEXTS),
    "info": st.sampled_from(TEXTS),
})


def decide(spec):
    return triage(FiledReport.model_validate(build(**spec)), KNOWN)


def imminent_by_spec(spec) -> bool:
    """The public imminent-harm criteria, read straight off the ingredients."""
    minor = any(v["id"] and (v["age"] is None or v["age"] < 18) for v in spec["victims"])
    ann = spec["annotations"]
    words = " ".join(t for t in (spec["content"], spec["info"], spec["escalate"]) if t)
    return bool(
        spec["escalate"]
        or ((ann.get("sextortion") or ann.get("sadisticOnlineExploitation")) and minor)
        or any(f.get("fileAnnotations", {}).get("liveStreaming") for f in spec["files"])
        or (spec["incident"] == "enticement" and re.search(r"\bmeet|\bcome over|\bthis weekend", words))
    )


@settings(max_examples=300, deadline=None)
@given(specs)
def test_an_imminent_harm_report_is_never_below_priority_one(spec):
    if imminent_by_spec(spec):
        assert decide(spec).priority == 1


@settings(max_examples=300, deadline=None)
@given(specs)
def test_every_decision_names_a_rule_and_is_deterministic(spec):
    first = decide(spec)
    assert first.reasons
    assert decide(spec) == first


@settings(max_examples=300, deadline=None)
@given(specs)
def test_no_location_and_no_identifiers_never_make_a_referral(spec):
    stripped = {**spec, "user": (), "ips": (), "location": None}
    assert decide(stripped).disposition == "informational"


extra = st.one_of(
    st.sampled_from(["id", "screen", "email", "phone"]).map(lambda u: ("user", u)),
    st.sampled_from(["192.0.2.70", "198.51.100.20"]).map(lambda ip: ("ips", (ip, False))),
    st.sampled_from([("US", "NY"), ("GB", None)]).map(lambda loc: ("location", loc)),
    victims.map(lambda v: ("victims", v)),
    files().map(lambda f: ("files", f)),
)


@settings(max_examples=400, deadline=None)
@given(specs, extra)
def test_adding_actionable_data_never_lowers_a_referral(spec, addition):
    before = decide(spec)
    if before.disposition != "referral":
        return
    field, value = addition
    more = dict(spec)
    if field == "location":
        more["location"] = more["location"] or value
    else:
        more[field] = (*spec[field], value) if value not in spec[field] else spec[field]
    after = decide(more)
    assert after.disposition == "referral"
    assert after.priority <= before.priority
