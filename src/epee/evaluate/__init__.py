"""Measured speed: wall clock of early-exit inference against the plain Hugging Face model.

The arithmetic of speed-ups (layer, FLOPs) lives in :mod:`epee.runtime.speed`, beside the runtime
that reports it for every prediction; this package only times things.
"""
