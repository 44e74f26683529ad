"""The long-running daemon: the Service that owns the asyncio tasks, its scheduler, health listener, reloads,
systemd integration and logging."""
