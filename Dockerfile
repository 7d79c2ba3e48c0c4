# syntax=docker/dockerfile:1
# Causeway in one image: `causeway` is the entrypoint, the command says what the container does:
#   docker run … causeway                        start --role all (the default command)
#   docker run … causeway start --role api       (or --role worker)
#   docker run … causeway migrate | keys create --name NAME | …
# compose.yaml runs PostgreSQL, a migration, two API and two worker containers behind nginx.
# Node 22: the current long-term release (Node 20 is past its end of life; Causeway still runs on 20).

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# No telemetry from dependencies' install scripts.
ENV SCARF_ANALYTICS=false NPM_CONFIG_UPDATE_NOTIFIER=false
# The manifests first, so the dependency layer is rebuilt only when they change. Install scripts are
# skipped here (the root `prepare` builds the pages, which needs the sources); esbuild's, which tsx
# needs at run time, is run on its own.
COPY package.json package-lock.json ./
COPY packages/ ./packages/
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild esbuild
COPY . .
# The pages (Vite, into dist/web): all the server needs built (the client package is for integrators);
# then only the runtime dependencies stay.
RUN npm run build:web && npm prune --omit=dev --no-audit --no-fund
# The server's compiled bundle (bin/causeway.js makes it on a first run, into node_modules/.cache): made
# here, because the image's user may not write there; without it every start would run through tsx.
RUN node bin/causeway.js --version

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    CAUSEWAY_DATA_DIR=/data \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/dist ./dist
# The embedded database (a single container without DATABASE_URL) lives in /data; the image's `node` user owns it.
RUN mkdir -p /data && chown node:node /data && ln -s /app/bin/causeway.js /usr/local/bin/causeway
USER node
VOLUME ["/data"]
EXPOSE 3000
# Liveness on /health: the API port, or CAUSEWAY_METRICS_PORT where it is set (a worker serves HTTP only there).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.CAUSEWAY_METRICS_PORT || process.env.PORT || 3000}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/causeway.js"]
CMD ["start"]
