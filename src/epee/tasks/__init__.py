"""Task encodings (examples -> tensors) and task metrics."""
