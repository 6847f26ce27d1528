"""What ships releases: versions, the release ledger, migrations, backups, deploys and
rollbacks on one host or a Swarm, and the code-only hotfix."""
