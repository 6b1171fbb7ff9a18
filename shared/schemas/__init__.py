"""Contracts between services: the external report and the internal events."""
