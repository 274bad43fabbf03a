"""The workflow store on Redis."""
