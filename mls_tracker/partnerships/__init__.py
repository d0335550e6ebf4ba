"""The list of partnerships a user may see, and each partnership's facts and people."""
