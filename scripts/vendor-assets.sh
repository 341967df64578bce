#!/usr/bin/env bash
# Copies the npm-installed front-end libraries into static/vendor (git-ignored), so pages never load a CDN,
# then gives every static file a content-hashed copy and static/cache_manifest.json (git-ignored too):
# templates link the hashed names, which browsers keep for a year.
set -euo pipefail
cd "$(dirname "$0")/.."
out=static/vendor
rm -rf "$out.tmp" && mkdir -p "$out.tmp/leaflet" "$out.tmp/leaflet.markercluster" "$out.tmp/socket.io"
cp -R node_modules/leaflet/dist/. "$out.tmp/leaflet/"
cp -R node_modules/leaflet.markercluster/dist/. "$out.tmp/leaflet.markercluster/"
cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/socket.io-client/dist/socket.io.min.js.map "$out.tmp/socket.io/"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "front-end assets copied into $out"

# The Makefile makes the virtualenv before this step. Clean first: copies of files since changed
# would otherwise pile up beside them.
portal=.venv/bin/portal
if [ ! -x "$portal" ]; then
  echo "$portal is missing: make the virtualenv first (make setup)" >&2
  exit 1
fi
"$portal" digest clean >/dev/null
"$portal" digest compile >/dev/null
echo "static files hashed: $(grep -o '": "' static/cache_manifest.json | wc -l) names in static/cache_manifest.json"
