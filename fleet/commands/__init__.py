"""Commands to boxes: queued in the store, sent by serve before they expire, their results read back."""
