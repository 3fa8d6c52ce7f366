"""One run, step by step: plan, open, load, rules, record, reports; the nightly choice of delivery."""
