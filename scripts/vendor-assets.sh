#!/usr/bin/env bash
# Copies the npm-installed front-end libraries into static/vendor (git-ignored), so pages never load a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
out=static/vendor
rm -rf "$out.tmp" && mkdir -p "$out.tmp/leaflet" "$out.tmp/leaflet.markercluster" "$out.tmp/socket.io"
cp -R node_modules/leaflet/dist/. "$out.tmp/leaflet/"
cp -R node_modules/leaflet.markercluster/dist/. "$out.tmp/leaflet.markercluster/"
cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/socket.io-client/dist/socket.io.min.js.map "$out.tmp/socket.io/"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "front-end assets copied into $out"
