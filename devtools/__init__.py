"""Tools for developers, outside the runtime package: the synthetic city, the linkage and name-linking evaluations, test builders."""
