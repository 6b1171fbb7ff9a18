"""Which viral bundle a report joins: the earliest report holding any of its hashes within the
bundle window opens the bundle, and every hash of the report then belongs to that bundle.

`BundleWindow` keeps the hashes in memory on any clock; triage's store keeps the same rule in
Redis, atomically for replicas side by side."""

from dataclasses import dataclass, field


def first_report(holders: list[int | None], report_id: int) -> int:
    """The report that opened the bundle: the earliest holder of any of the report's hashes, or
    the report itself when none is held."""
    held = [h for h in holders if h is not None]
    return min(held) if held else report_id


@dataclass
class BundleWindow:
    """Hash key -> (first report, when it stops taking members), in the caller's unit of time."""

    window: float
    held: dict[str, tuple[int, float]] = field(default_factory=dict)

    def join(self, report_id: int, keys: tuple[str, ...], now: float) -> int:
        holders = []
        for key in keys:
            entry = self.held.get(key)
            holders.append(entry[0] if entry and entry[1] > now else None)
        first = first_report(holders, report_id)
        for key, holder in zip(keys, holders, strict=True):
            if holder is None:
                self.held[key] = (first, now + self.window)
        return first
