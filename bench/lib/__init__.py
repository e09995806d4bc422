"""bench/lib - the pieces of the end-to-end benchmark; bench/run.sh is the entry point."""
