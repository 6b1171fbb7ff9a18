"""JSON kept deflated against a dictionary of its own vocabulary: the stored form of report bodies
(`shared.bodies`) and of timeline stages (`services.tracker.ledger`).

A stored value is plain JSON (its first byte is "{") or one byte naming its form followed by the
JSON deflated against that form's dictionary. A dictionary holds field names and enumerated values
as they were when it was made, nothing of any report; it is never changed (a value stored with it
must stay readable), a new one takes the next number. Each form prepares its deflater once and
copies it per value: setting a dictionary of a few kilobytes costs more than deflating a short
value, copying the prepared state a fraction of it.
"""

import zlib
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parent / "data"
MAX_JSON_BYTES = 16 * 1024 * 1024  # far above anything stored in one value


@dataclass(frozen=True)
class Form:
    """One stored form: its byte, its dictionary, and the deflate settings it was made with
    (`wbits` as zlib takes it: 15 a zlib stream, negative raw deflate with a 2^-wbits window)."""

    byte: int
    dictionary: bytes
    wbits: int = 15
    level: int = 6
    mem_level: int = 8
    _deflater: "zlib._Compress" = field(init=False, repr=False, compare=False)
    _inflater: "zlib._Decompress" = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_deflater", zlib.compressobj(
            self.level, zlib.DEFLATED, self.wbits, self.mem_level, zlib.Z_DEFAULT_STRATEGY,
            self.dictionary))
        object.__setattr__(self, "_inflater", zlib.decompressobj(self.wbits,
                                                                 zdict=self.dictionary))

    def pack(self, json: bytes) -> bytes:
        deflate = self._deflater.copy()
        return bytes([self.byte]) + deflate.compress(json) + deflate.flush()

    def inflate(self, packed: bytes) -> bytes:
        inflate = self._inflater.copy()
        json = inflate.decompress(packed, MAX_JSON_BYTES)
        if inflate.unconsumed_tail or not inflate.eof:
            raise ValueError("a stored value that does not inflate to one JSON document")
        return json


def dictionary(name: str) -> bytes:
    return (DATA / name).read_bytes()


@dataclass(frozen=True)
class Forms:
    """The forms a kind of value may be stored in, and the one new values take."""

    what: str  # "body", "stage": named in errors
    known: tuple[Form, ...]
    packs_with: int

    def pack(self, json: bytes) -> bytes:
        return self._form(self.packs_with).pack(json)

    def unpack(self, stored: bytes) -> bytes:
        """The JSON of a stored value (plain JSON as it is)."""
        if stored[:1] == b"{":
            return stored
        form = self._form(stored[0]) if stored else None
        if form is None:
            raise ValueError(f"a stored {self.what} of unknown form (first byte {stored[:1]!r})")
        try:
            return form.inflate(stored[1:])
        except (zlib.error, ValueError) as exc:
            raise ValueError(f"a stored {self.what} that does not inflate to one JSON document "
                             f"({exc})") from None

    def _form(self, byte: int) -> Form | None:
        return next((f for f in self.known if f.byte == byte), None)
