"""Sign-in customisations and invitations."""
