"""The ``epee`` command line."""
