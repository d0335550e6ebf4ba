"""Use cases: plain functions named with a verb, taking the acting user."""
