# DCX API image. Runs the TypeScript sources with tsx (a runtime dependency), as the unprivileged
# "node" user. Configuration is environment only (DESIGN §5); see docker-compose.yml.
FROM node:20-slim

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DCX_DATA_DIR=/app/data \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Dependencies first, so a source change reuses this layer. Runtime dependencies only: tsx is one
# of them; the test, lint and client-generation tools are devDependencies and stay out.
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit \
 && npm cache clean --force

COPY --chown=node:node tsconfig.json ./
COPY --chown=node:node src ./src
COPY --chown=node:node migrations ./migrations
# The embedded-database folder (used only without DATABASE_URL) must be writable by the service.
RUN mkdir -p /app/data && chown node:node /app/data

USER node
EXPOSE 3000

# Process up; docker-compose.yml checks /readyz (database reachable) instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

CMD ["npm", "start"]
