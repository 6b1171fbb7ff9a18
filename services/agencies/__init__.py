"""The agencies service."""
