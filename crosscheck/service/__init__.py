"""Running crosscheck as a service a city's IT department keeps: processes that stop when told
and leave nothing behind (lifetime), log files (logfile), backups and restores (backup), and
the operator's view of its health (status)."""
