#!/usr/bin/env bash
# Runs OpenTofu on this configuration: deploy/tofu/tofu.sh init | plan | apply | output | destroy ...
# OpenTofu only. This code and its state are OpenTofu's; another tool writing the state corrupts it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "$(basename "$0")" in
  terraform*)
    echo "tofu.sh: refusing to run as '$(basename "$0")': this configuration is for OpenTofu (tofu) only." >&2
    exit 2 ;;
esac

if ! command -v tofu >/dev/null 2>&1; then
  echo "tofu.sh: OpenTofu is not installed: get tofu 1.10 or newer (https://opentofu.org/docs/intro/install/)." >&2
  exit 2
fi
version=$(tofu version 2>/dev/null | sed -n 's/^OpenTofu v\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -1)
if [ -z "$version" ]; then
  echo "tofu.sh: 'tofu' on the PATH is not OpenTofu ($(command -v tofu)); install OpenTofu 1.10 or newer." >&2
  exit 2
fi
read -r major minor <<<"$version"
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 10 ]; }; then
  echo "tofu.sh: OpenTofu $major.$minor is too old: 1.10 or newer is needed (the state's S3 locking)." >&2
  exit 2
fi

# A state or lock file last written by another tool is a warning sign: OpenTofu records its providers as
# registry.opentofu.org/..., the other tool as registry.terraform.io/... Say so before anything touches it.
for file in "$HERE/terraform.tfstate" "$HERE/.terraform/terraform.tfstate" "$HERE/.terraform.lock.hcl"; do
  if [ -f "$file" ] && grep -q 'registry\.terraform\.io' "$file"; then
    echo "tofu.sh: WARNING: $file was last written by a tool that is not OpenTofu (its providers come from registry.terraform.io)." >&2
    echo "         Check it before going on: mixing tools corrupts the state." >&2
  fi
done

cd "$HERE"
# init with the S3 backend's settings when they are here (never a local state by default)
if [ "${1:-}" = init ] && [ -f backend.hcl ] && ! printf '%s\n' "$@" | grep -q -- '-backend-config'; then
  exec tofu "$@" -backend-config=backend.hcl
fi
exec tofu "$@"
