"""Personal data: masking by declared kind, and files created owner-only."""
