"""Zvonar campaign service."""
