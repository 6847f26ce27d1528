#!/bin/sh
# As the official registry image's entry point: a config file as first argument means
# `registry serve FILE`; a registry subcommand or option is passed to the binary; anything
# else (sh, ...) runs as given. exec keeps the registry in the foreground as PID 1.
set -e
case "$1" in
  *.yaml | *.yml) set -- registry serve "$@" ;;
  serve | garbage-collect | help | -*) set -- registry "$@" ;;
esac
exec "$@"
