"""The cache folder: loaded deliveries, parsed files and table states, and its housekeeping."""
