"""What talks to the Docker engine: the one layer that runs commands (runner), and the
modules that decide which Compose commands to run and how to read what they answer."""
