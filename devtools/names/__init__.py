"""The name linker's corruption harness (`crosscheck eval-names`): a generated registry of
villages and records written the way clerks and systems mangle names (`generate`), and the
linker's precision, recall and ambiguous share on them, beside two baselines (`harness`)."""
