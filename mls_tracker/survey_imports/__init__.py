"""Survey imports: upload a file, map its columns, preview, commit, history and undo."""
