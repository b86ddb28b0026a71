# Build from the repository root: docker build -f docker/proxy.Dockerfile -t aiplane-proxy .
# It refuses to start without PROXY_TOKEN (at least 32 bytes): the one the orchestrator and the
# gateway send. Pass it from the same 0600 env file (see orchestrator.Dockerfile), never with -e on
# a shared machine: docker run --rm --env-file aiplane.env -e PROXY_HOST=0.0.0.0 aiplane-proxy
# (a compose service: `env_file: aiplane.env`). Outside Docker, PROXY_SOCKET puts it on a Unix socket.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/libs ./dist/libs
COPY --from=build /src/dist/apps/proxy ./dist/apps/proxy

USER node
EXPOSE 8003
CMD ["node", "dist/apps/proxy/src/main.js"]
