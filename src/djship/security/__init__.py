"""Security patches: `djship audit` (the host's kernel, engine, containerd and runc against a
table of known container-escape and engine vulnerabilities, the engine's settings, the live
release's pending OS security updates, base image age and Python advisories) and
`djship refresh` (the release rebuilt on a fresh base, then shipped with the normal deploy).

Deciding modules (versions, vulnerabilities, engine settings, machine kind, parsers, report)
return plain data and are unit-tested without Docker; gathering and running go through
`djship.engine.runner`.
"""
