"""Shared request machinery of the web app: no routes, used by every area."""
