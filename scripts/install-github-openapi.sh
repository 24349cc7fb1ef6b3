#!/usr/bin/env bash
# Installs GitHub's official OpenAPI description, the npm package @octokit/openapi (GitHub's
# github/rest-api-description, as Octokit publishes it) at a pinned version, into
# ${CASTELLAN_NPM_CACHE:-/var/cache/castellan/npm}/octokit-openapi-<version>, and prints the path
# of its api.github.com.json. Idempotent: a second run only prints the path. The GitHub
# connector's tests check every exchange with the GitHub stand-in against this file.
set -euo pipefail
VERSION=23.0.2
root=${CASTELLAN_NPM_CACHE:-/var/cache/castellan/npm}
dir="$root/octokit-openapi-$VERSION"
spec="$dir/node_modules/@octokit/openapi/generated/api.github.com.json"
if [ -s "$spec" ]; then
  echo "$spec"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install-github-openapi: installing npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends npm >/dev/null
fi
mkdir -p "$dir"
(
  # One installer at a time (tests of several binaries may ask at once).
  flock 9
  if [ ! -s "$spec" ]; then
    echo "install-github-openapi: npm install @octokit/openapi@$VERSION into $dir" >&2
    npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error \
      "@octokit/openapi@$VERSION" >&2
  fi
) 9>"$dir/.lock"
test -s "$spec"
echo "$spec"
