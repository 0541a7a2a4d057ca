"""Endpoints that publish content (the forge webhook)."""
