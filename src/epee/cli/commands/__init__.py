"""One module per ``epee`` command; each body parses options, calls the library, prints the outcome."""
