"""Email over SMTP: the sender (with retries in the background) and the messages."""
