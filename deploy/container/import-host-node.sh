#!/bin/sh
# Imports a node base image built from THIS host's node, for machines with no registry to pull from.
#
#   deploy/container/import-host-node.sh [ENGINE] [TAG]     (defaults: podman, mcp-warden-base/node:20)
#
# The image mirrors the official node image's layout, so the Dockerfile treats both alike:
#   /usr/local/bin/node                  the host's node binary
#   <each library `ldd` lists>           at its host path (glibc's loader included)
#   /usr/local/lib/node_modules/npm      the host's npm (the build stage needs it; the final stage removes it)
#   /etc/ssl/certs/ca-certificates.crt   the host's CA bundle (NODE_EXTRA_CA_CERTS points at it)
#   /bin/sh and a few applets            from a static busybox (RUN steps need a shell)
# With a registry, skip this and build with --build-arg BASE_IMAGE=node:20-bookworm-slim instead.
set -eu

engine=${1:-podman}
tag=${2:-mcp-warden-base/node:20}

die() { echo "import-host-node: $*" >&2; exit 1; }

node=$(command -v node) || die "no node on PATH: install Node.js 20 or later first"
node=$(readlink -f "$node")
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then busybox=$b; break; fi
done
[ -n "$busybox" ] || die "no static busybox: apt-get install busybox-static"
npm_dir=""
for d in /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm "$(dirname "$node")/../lib/node_modules/npm"; do
  if [ -f "$d/bin/npm-cli.js" ]; then npm_dir=$(readlink -f "$d"); break; fi
done
[ -n "$npm_dir" ] || die "no npm next to node: install npm (apt-get install npm)"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/usr/bin" "$root/usr/local/bin" "$root/usr/local/lib/node_modules" \
  "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in sh env cat echo ls mkdir rm rmdir chmod chown cp mv ln find xargs grep sed sort head tail tar id true false test wget; do
  ln -s busybox "$root/bin/$applet"
done
# npm's scripts start with `#!/usr/bin/env node`.
ln -s /bin/busybox "$root/usr/bin/env"
cp "$node" "$root/usr/local/bin/node"
ldd "$node" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p' | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# The CAs this host trusts (a proxy's CA among them, where there is one): npm in the build stage and
# the gateway (its IdP, its HTTP upstreams) trust what the host trusts.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  mkdir -p "$root/etc/ssl/certs"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' > "$root/etc/group"

tar -C "$root" -c . | "$engine" import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$tag" >/dev/null
echo "imported $tag (node $("$node" --version), npm $(node "$npm_dir/bin/npm-cli.js" --version))"
