# DCX API image. Two stages: the first installs everything, compiles src/ to dist/ (npm run build)
# and prunes the devDependencies; the second holds only package.json, the runtime node_modules,
# dist/ and migrations/, and runs `node dist/server.js` itself as the unprivileged "node" user, so
# SIGTERM reaches the server (no npm or sh in between to die and orphan it). Configuration is
# environment only; see docker-compose.yml and the README's Configuration table.
FROM node:20-slim AS build

ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Dependencies first, so a source change reuses this layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit

FROM node:20-slim

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DCX_DATA_DIR=/app/data
WORKDIR /app

# Code and dependencies stay root-owned: the service can read them, not change them.
# package.json is needed at run time ("type": "module" makes dist/*.js ES modules).
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# dist/db/client.js reads ../../migrations, i.e. /app/migrations (as src/db/client.ts does from src/).
COPY migrations ./migrations
# The embedded-database folder (used only without DATABASE_URL) must be writable by the service.
RUN mkdir -p /app/data && chown node:node /app/data

USER node
EXPOSE 3000

# Process up; docker-compose.yml checks /readyz (database reachable) instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# The server handles SIGTERM/SIGINT itself (graceful close). dist/ carries source maps: set
# NODE_OPTIONS=--enable-source-maps for stack traces in TypeScript line numbers.
CMD ["node", "dist/server.js"]
