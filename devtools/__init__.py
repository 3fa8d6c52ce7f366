"""Tools for developing crosscheck (generators, harnesses), outside the runtime package."""
