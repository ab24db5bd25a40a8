# syntax=docker/dockerfile:1
# The fedweb server image: `fedweb server` (controller) by default, `fedweb combiner ...` with other arguments.
#   docker build -t fedweb:0.1.0 .
#   docker run --rm -p 8080:8080 -e FEDWEB_SECRET=... -v fedweb-data:/data fedweb:0.1.0
# README "Deploying" has the commands for one host, several hosts and Kubernetes.

# ---- Stage 1: production dependencies only, with the toolchain a native module may need to build from source.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The manifests first, so the dependency layer is cached until a manifest or the lockfile changes.
COPY package.json package-lock.json ./
COPY packages/codec/package.json packages/codec/package.json
COPY packages/server/package.json packages/server/package.json
COPY packages/sdk-client/package.json packages/sdk-client/package.json
COPY demo/package.json demo/package.json
COPY e2e/package.json e2e/package.json
# Only the server and the codec it imports: the browser SDK (TensorFlow.js) and the demo stay out of the image.
RUN npm ci --omit=dev --no-audit --no-fund --workspace packages/server --workspace packages/codec

# ---- Stage 2: the runtime, without compilers, running as the unprivileged `node` user (uid 1000).
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY packages/codec ./packages/codec
COPY packages/server ./packages/server
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 9000
# GET /api/status (packages/server/bin/healthcheck.mjs; FEDWEB_HEALTH_URL / FEDWEB_HEALTH_TOKEN change what it asks).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["node", "packages/server/bin/healthcheck.mjs"]
ENTRYPOINT ["node", "packages/server/bin/fedweb.mjs"]
CMD ["server", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data"]
