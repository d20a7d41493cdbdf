"""Residents and their households: claim letters and codes, join requests, the household's members."""
