"""How a server process serves behind a proxy: its name, its liveness and readiness, the
client's address from a trusted proxy, and its graceful shutdown on SIGTERM."""
