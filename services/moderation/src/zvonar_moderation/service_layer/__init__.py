"""Handlers of the moderation service and the ports they use."""
