# understudy node image: `docker build -t understudy .`, then one container per member (see
# docs/deployment.md). The build stage compiles the TypeScript and drops the dev dependencies; the
# runtime stage holds the JavaScript build, the production node_modules (lmdb's native addon
# included) and nothing else, and runs as a non-root user with its data on a volume.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN groupadd --system --gid 999 understudy \
 && useradd --system --uid 999 --gid understudy --home-dir /var/lib/understudy --shell /usr/sbin/nologin understudy \
 && mkdir -p /var/lib/understudy /etc/understudy \
 && chown understudy:understudy /var/lib/understudy
WORKDIR /opt/understudy
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
COPY --from=build /src/node_modules ./node_modules
USER understudy
# The configuration file comes from a bind mount or a ConfigMap; these are its usual overrides.
ENV UNDERSTUDY_CONFIG=/etc/understudy/understudy.json \
    UNDERSTUDY_DATA_DIR=/var/lib/understudy \
    UNDERSTUDY_LISTEN_HOST=0.0.0.0
VOLUME ["/var/lib/understudy"]
# Redis, peers, Sentinel, admin API (the ports of the member addresses in the configuration).
EXPOSE 6379 7101 26379 7301
# Ready = serving: a primary, or a secondary in sync (not refilling lost data, no region resyncing).
# 7301 is the port of this member's adminAddr in the configuration; change both together.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7301/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/understudy/bin/understudy.mjs"]
CMD ["start"]
