"""What djship hands to other platforms, derived from the same Compose files and .env (never
a second copy kept by hand): Kubernetes manifests (a kustomize layout) and the kubectl
commands that apply a release to a cluster in the right order."""
