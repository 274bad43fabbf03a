"""The thread store in SQLite (threads, messages, working memory, the console)."""
