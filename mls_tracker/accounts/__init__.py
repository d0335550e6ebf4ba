"""People (admins only, under /admin/users): list, invite, global role, deactivate and reactivate,
two-factor reset, memberships; and each person's own account settings."""
