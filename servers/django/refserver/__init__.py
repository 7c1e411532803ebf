"""Django reference server. See servers/README.md."""
