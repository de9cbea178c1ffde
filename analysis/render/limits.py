"""How long the engine waits for a kernel: one value, read by the cell runner and the fork server."""

# A cell may run this long (nbclient's timeout); the kernel fork server, which imports the
# documents' modules before it forks, gets the same time.
CELL_TIMEOUT_SECONDS = 600
