"""Consumer-side views of events: the same messages, read without the parts a consumer ignores."""

from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from shared.schemas.events import ReportTriaged


def without(model: type[BaseModel], *dropped: str) -> type[BaseModel]:
    """The event minus some of its fields: their JSON is skipped, no Python object is built."""
    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in model.model_fields.items() if name not in dropped
    }
    return create_model(f"{model.__name__}Summary",
                        __config__=ConfigDict(extra="ignore", frozen=True), **fields)


# The tracker records what triage decided, not where the report points.
ReportTriagedSummary = without(ReportTriaged, "routing")
