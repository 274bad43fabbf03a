"""The run store on Redis (runs, approvals, scores), on the thread store's key layout."""
