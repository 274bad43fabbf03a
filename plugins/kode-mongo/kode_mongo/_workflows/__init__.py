"""The workflow store on MongoDB."""
