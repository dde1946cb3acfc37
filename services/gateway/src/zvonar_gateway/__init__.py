"""Zvonar gateway service."""
