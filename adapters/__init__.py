"""Channels: each module verifies, de-duplicates, normalizes and renders. No scheduling logic."""
