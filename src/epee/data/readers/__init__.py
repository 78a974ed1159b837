"""One reader per benchmark, each turning the files as distributed into a validated Dataset."""
