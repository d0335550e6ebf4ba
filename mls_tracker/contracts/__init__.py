"""Creating, editing, archiving and reopening partnerships (admins), and a new partnership's set-up
checklist."""
