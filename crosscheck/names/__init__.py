"""The name linker: who a record names, from a Chinese name and a place (docs/names.md).

- `characters`: what the linker knows of one character (reading, four-corner shape) and
  the look-alike tables rules pass;
- `sql`: the linker as one SELECT (equi-joins: identical name form, then one variant
  character; optionally the neighbouring villages), used by the `link_names` rule step
  (crosscheck.rules.linknames) and the `link-names` command (`files`, `link`);
- `files` and `link`: the command's CSV reading, checking and writing.
"""
