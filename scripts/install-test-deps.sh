#!/usr/bin/env bash
# Installs the Debian packages the tests need when they are missing: PostgreSQL client tools,
# swaks (a real SMTP client) with TLS support, curl, jq, flock, Chromium and chromedriver. Synapse (PyPI), Redmine
# and WordPress (Debian) are installed by their own start scripts on first use.
set -euo pipefail
need=()
command -v pg_isready >/dev/null || need+=(postgresql-client)
command -v swaks >/dev/null || need+=(swaks)
perl -MNet::SSLeay -e1 2>/dev/null || need+=(libnet-ssleay-perl libio-socket-ssl-perl)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
command -v flock >/dev/null || need+=(util-linux)
# The web app's browser test: Debian's Chromium and its WebDriver.
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# GitHub's OpenAPI description (npm, pinned), for the GitHub connector's tests.
"$(dirname "$0")/install-github-openapi.sh" >/dev/null
