#!/bin/sh
# A reduced /docker-entrypoint.sh of the official nginx image: when the command is nginx, it
# renders /etc/nginx/templates/*.template into /etc/nginx/conf.d with envsubst, substituting
# only variables defined in the environment (nginx's own $host etc. are left alone).
set -e
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
  suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
  output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
  if [ -d "$template_dir" ]; then
    if [ ! -w "$output_dir" ]; then
      echo "$0: ERROR: $template_dir exists, but $output_dir is not writable" >&2
    else
      defined_envs=$(printf '${%s} ' $(env | cut -d= -f1))
      find "$template_dir" -follow -type f -name "*$suffix" | while read -r template; do
        relative_path="${template#"$template_dir/"}"
        output_path="$output_dir/${relative_path%"$suffix"}"
        mkdir -p "$(dirname "$output_path")"
        envsubst "$defined_envs" <"$template" >"$output_path"
        echo "$0: rendered $template to $output_path"
      done
    fi
  fi
fi
exec "$@"
