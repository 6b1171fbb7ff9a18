"""The tracker's pure domain: ledger steps, SLA and lost-sight rules, statistics, the gap views."""

from services.tracker.domain.gap import (
    SERIES,
    Gap,
    GapRow,
    Histogram,
    SeriesPoint,
    esp_row,
    gap,
    gap_row,
    histograms,
    series,
)
from services.tracker.domain.policy import LANES, PRIORITY_OF_LANE, Policy
from services.tracker.domain.stats import (
    HOUR_BOUNDS,
    SCORE_BOUNDS,
    bucket_of,
    data_quality,
    distribution,
    percentile,
)
from services.tracker.domain.steps import STAGE_ORDER, ReportEvent, Step, sla_breach, steps_for
from services.tracker.domain.timeline import (
    GroupMember,
    HandoffView,
    LinkView,
    StageView,
    Timeline,
    timeline,
)

__all__ = [
    "HOUR_BOUNDS", "LANES", "PRIORITY_OF_LANE", "SCORE_BOUNDS", "SERIES", "STAGE_ORDER", "Gap",
    "GapRow", "GroupMember", "HandoffView", "LinkView", "Histogram", "Policy", "ReportEvent",
    "SeriesPoint", "StageView",
    "Step", "Timeline", "bucket_of", "data_quality", "distribution", "esp_row", "gap", "gap_row",
    "histograms", "percentile", "series", "sla_breach", "steps_for", "timeline",
]
