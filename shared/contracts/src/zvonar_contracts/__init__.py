"""Zvonar's wire: msgspec structs for every command, event, query and reply, and the names
of the subjects, streams and buckets they travel on. Imported by every service."""

CONTRACTS_VERSION = 1
