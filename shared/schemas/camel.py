"""The base of models whose JSON speaks camelCase (the public report schema's style, used by every
HTTP answer): Python names in code, camelCase names on the wire, either accepted on input."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              serialize_by_alias=True)


class CamelView(CamelModel):
    """An answer computed from the ledger: camelCase, and immutable once made."""

    model_config = ConfigDict(frozen=True)
