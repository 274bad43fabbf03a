"""The workflow store on SQLite."""
