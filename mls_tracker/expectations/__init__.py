"""Agreed expectations, their revisit-by dates and their history."""
