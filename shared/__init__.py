"""The project's own library: contracts and plumbing shared by every service."""
