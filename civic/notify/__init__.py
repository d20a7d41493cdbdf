"""Notifications: follow an item and hear about it (outbox, channels, worker)."""
