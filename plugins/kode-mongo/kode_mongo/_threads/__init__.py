"""The thread store in MongoDB (threads, messages, working memory, the console)."""
