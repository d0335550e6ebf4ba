"""The audit log: every recorded change, filtered, paginated and exported; each object's history."""
