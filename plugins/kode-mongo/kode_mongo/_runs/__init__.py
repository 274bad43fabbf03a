"""The run store in MongoDB (runs, approvals, scores), on the thread collections."""
