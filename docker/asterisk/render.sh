#!/usr/bin/env bash
# Render our Asterisk config set (docker/asterisk/conf/*.conf) into OUT_DIR.
# A template names an environment variable as @@NAME@@; an unset variable is an error.
# The test-caller files (*-test.conf) are rendered only when IPCC_TEST_CALLER_IP is set.
# Used by docker/local/stack.sh and by the Asterisk image's entrypoint alike.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/conf" && pwd)
out=${1:?usage: render.sh OUT_DIR}
mkdir -p "$out"

for template in "$src"/*.conf; do
  file=${template##*/}
  if [[ $file == *-test.conf && -z ${IPCC_TEST_CALLER_IP:-} ]]; then
    rm -f "$out/$file"
    continue
  fi
  content=$(<"$template")
  while read -r placeholder; do
    [[ -n $placeholder ]] || continue
    name=${placeholder//@@/}
    [[ -n ${!name+set} ]] || {
      printf 'render.sh: %s needs the environment variable %s\n' "$file" "$name" >&2
      exit 1
    }
    content=${content//"$placeholder"/"${!name}"}
  done < <(grep -o '@@[A-Z][A-Z0-9_]*@@' "$template" | sort -u)
  printf '%s\n' "$content" >"$out/$file.tmp"
  mv "$out/$file.tmp" "$out/$file"
done
