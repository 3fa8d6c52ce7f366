"""Tools for developers, outside the runtime package: the synthetic city, linkage evaluation, test builders."""
