"""Acknowledgements: a sponsor marks a scorecard reviewed through a signed link."""
