"""Monthly governance meetings: planning, the agenda that writes itself, holding, minutes."""
