"""The conversation: what to say, decided once for every channel."""
