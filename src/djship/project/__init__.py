"""What describes a project: where it is, its .env, its environments, its lock tool, its TLS
files. Depends on nothing else of djship but errors."""
