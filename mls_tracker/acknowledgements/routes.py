"""Acknowledgement pages (being written)."""
