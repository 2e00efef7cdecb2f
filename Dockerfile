# game-persist runtime image.
#
#   docker build -t game-persist:local .
#   docker run --rm --init -e DATABASE_URL=... -e REDIS_URL=... game-persist:local migrate
#   docker run --rm --init -e DATABASE_URL=... -e REDIS_URL=... game-persist:local          # worker
#
# The app is TypeScript run directly by Node's type stripping (Node >= 22.18), so there is no build
# step: the image holds the sources, the migrations and the production dependencies only. The
# devDependency "node" (a bundled Node binary) is omitted: `node` here is the base image's Node 24.
#
# Only classic Dockerfile syntax is used (no RUN --mount, COPY --link/--chmod), so the image builds
# with BuildKit and with the legacy builder that docker-compose v1 uses.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: production node_modules from the lockfile ------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root (read-only to the app); the process runs as the image's `node` user.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY src ./src
USER node
# The worker drains its batch on SIGTERM; run with an init (`docker run --init`, compose `init: true`)
# so a signal that arrives before its handlers are installed still stops the process.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/game-persist.js"]
CMD ["worker"]
# No HEALTHCHECK in the image: the same image runs the worker, the API (`serve`) and one-shot commands
# (migrate, doctor, demo), each ready in its own way. Health is probed per service instead: the worker's
# /readyz on GP_METRICS_PORT (docker-compose.yml's healthcheck, deploy/kubernetes/worker.yaml), the API's
# on its port (deploy/kubernetes/api.yaml). `docker compose run --rm worker doctor` checks the whole setup.
