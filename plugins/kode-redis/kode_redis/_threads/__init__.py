"""The thread store on Redis (threads, messages, working memory, the console)."""
