"""The dialer's handlers: campaign events, preparation, scheduling, dialling, requests."""
