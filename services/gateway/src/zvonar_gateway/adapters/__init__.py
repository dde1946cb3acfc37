"""The gateway's adapters: its own account store."""
