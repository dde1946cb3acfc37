"""Zvonar moderation service."""
