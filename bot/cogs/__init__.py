"""Discord cogs: thin adapters that parse, call the core off the event loop, render and send."""
