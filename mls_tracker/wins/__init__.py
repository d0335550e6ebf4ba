"""Wins: successes of a partnership worth celebrating and sharing."""
