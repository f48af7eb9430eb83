# syntax=docker/dockerfile:1
# mcp-warden's container image: `serve` (remote mode) as a non-root user on a read-only root filesystem.
#
# The base is any image with node (20 or later) at /usr/local/bin/node and npm in the official
# layout. With a registry:       --build-arg BASE_IMAGE=node:20-bookworm-slim
# Without one (as on the build machines of this project), import one from the host's node first:
#                                deploy/container/import-host-node.sh podman mcp-warden-base/node:20
# See README, Deployment.
ARG BASE_IMAGE=mcp-warden-base/node:20

# --- build: compile with the dev dependencies, then keep only the production ones -----------------
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm's cache is a build cache mount: it speeds up rebuilds and never lands in a layer.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY schema ./schema
COPY scripts ./scripts
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run build \
 && rm -rf dist/test dist/bench dist/scripts \
 && find dist -name '*.map' -exec rm -f {} +
RUN --mount=type=cache,target=/root/.npm \
    npm prune --omit=dev --no-audit --no-fund --loglevel=error

# --- runtime: node, the compiled gateway and its production dependencies; nothing else ------------
FROM ${BASE_IMAGE}
# No package manager at run time (npm, npx, corepack, yarn: whichever the base has), and a user for
# uid 1000 (the official image's `node` is uid 1000 already).
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /root/.npm /tmp/* \
 && (grep -q '^[^:]*:x:1000:' /etc/passwd || echo 'warden:x:1000:1000::/var/lib/mcp-warden:/bin/false' >> /etc/passwd) \
 && (grep -q '^[^:]*:x:1000:' /etc/group || echo 'warden:x:1000:' >> /etc/group) \
 && mkdir -p /app /config /var/lib/mcp-warden \
 && chown 1000:1000 /var/lib/mcp-warden && chmod 0700 /var/lib/mcp-warden
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/schema ./schema
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# State (audit log, pins, run files) lives under /var/lib/mcp-warden: mount a volume there (or a
# tmpfs for a throw-away gateway); everything else may be read-only. Settings are read from
# /config/settings.json (a ConfigMap or a bind mount).
ENV NODE_ENV=production \
    HOME=/var/lib/mcp-warden \
    XDG_STATE_HOME=/var/lib/mcp-warden/state \
    XDG_CONFIG_HOME=/config
VOLUME ["/var/lib/mcp-warden"]
USER 1000:1000
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli.cjs"]
CMD ["serve", "--listen", "0.0.0.0:8787", "--settings", "/config/settings.json"]
