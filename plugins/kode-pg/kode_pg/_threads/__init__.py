"""The thread store in PostgreSQL (threads, messages, working memory, the console)."""
