"""Zvonar dialer service."""
