"""Action items: each partnership's action plan, provider updates, and everyone's My actions."""
