# One image for every role: `docker run beacon` is embedded mode; `... orchestrator` /
# `... processor` are the distributed roles (see docker-compose.yml). Node 20, production
# dependencies only, compiled JavaScript (no tsx at runtime), non-root.

# --- build: every dependency, TypeScript → dist/ -------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run compile

# --- deps: production dependencies only (uWS ships prebuilt binaries: no toolchain needed) ---
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-fund --no-audit && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    PROCESSOR_PORT=8081 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# DATA_DIR holds the embedded mode's token secret and established-connections segments: owner-only
# (Beacon also enforces 0700 at start; a volume created from this keeps the mode).
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
VOLUME ["/data"]
USER node
EXPOSE 8080 8081
# Role-aware: `beacon healthcheck` reads the role from the main process's command line and asks
# the /healthz of the servers that role runs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "bin/beacon.js", "healthcheck"]
ENTRYPOINT ["node", "bin/beacon.js"]
CMD ["all"]
