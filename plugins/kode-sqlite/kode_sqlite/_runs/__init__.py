"""The run store in SQLite (runs, approvals, scores), on the thread tables' schema."""
