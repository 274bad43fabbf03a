"""The workflow store on PostgreSQL."""
