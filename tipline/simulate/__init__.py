"""`tipline simulate`: the services' domain rules driven by an event queue on a simulated clock,
without Redis (docs/simulator.md)."""

from pathlib import Path

BASELINE = Path(__file__).parent / "baseline.yaml"
WHATIFS = Path(__file__).parent / "whatifs"
