#!/bin/sh
# Runs a command that downloads packages (pip, uv, pipenv), trusting the CA bundle passed as
# the `ca_bundle` secret when there is one: networks behind a TLS-inspecting proxy need it
# (BUILD_CA_BUNDLE in .env). The bundle is mounted for the command only, never kept in a layer.
bundle=/run/secrets/ca_bundle
if [ -s "$bundle" ]; then
  export SSL_CERT_FILE="$bundle" PIP_CERT="$bundle" REQUESTS_CA_BUNDLE="$bundle"
fi
exec "$@"
