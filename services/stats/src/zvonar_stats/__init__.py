"""Zvonar stats service."""
