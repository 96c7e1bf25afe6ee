"""Embedded namespace backend: SQLite metadata and local volume directories."""
