"""Reproducible benchmark of the bot (make bench): see bench/README.md."""
