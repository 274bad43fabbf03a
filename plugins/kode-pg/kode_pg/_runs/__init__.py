"""The run store in PostgreSQL (runs, approvals, scores), on the thread tables' schema."""
