"""What writes a project: the template tree rendered into files, and local TLS pairs."""
