#!/usr/bin/env bash
# Checks the system libraries MLS Tracker needs and installs what is missing when run as root;
# otherwise prints the exact apt-get command and stops.
#   app:  Pango and fonts for WeasyPrint, Chromium for the charts (PDF scorecards)
#   test: the same, plus poppler-utils/qpdf (PDF checks); Chromium also runs the browser tests;
#         npm (Node.js) where it is missing, for `npm ci` of axe-core (package.json)
set -euo pipefail
what=${1:-app}

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation2
  chromium)
if [ "$what" = test ]; then
  packages+=(poppler-utils qpdf)
  if ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
  fi
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

command="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  $command
else
  echo "MLS Tracker needs these system packages, which are not installed: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo $command" >&2
  exit 1
fi
