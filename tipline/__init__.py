"""The tipline command: run the stack, submit reports, read the gap."""
