# Build from the repository root: docker build -f docker/gateway.Dockerfile -t aiplane-gateway .
# Run on your machine, with your SSH key and known_hosts mounted read-only:
#   docker run --rm -p 127.0.0.1:8001:8001 \
#     -v ~/.ssh/id_ed25519:/ssh/id:ro -v ~/.ssh/known_hosts:/ssh/known_hosts:ro \
#     -e SSH_HOST=login.lxp.lu -e SSH_PORT=8822 -e SSH_USER=u100000 \
#     -e SSH_KEY_PATH=/ssh/id -e SSH_KNOWN_HOSTS_PATH=/ssh/known_hosts \
#     --env-file aiplane.env \
#     -e ORCHESTRATOR_SOCKET=/home/u100000/.aiplane/run/orchestrator.sock \
#     -e PROXY_SOCKET=/home/u100000/.aiplane/run/proxy.sock aiplane-gateway
# aiplane.env (0600) holds ORCHESTRATOR_TOKEN=<the token in the login node's ~/.aiplane/run/connection.json>.
# The sockets are paths on the login node: the gateway reaches them over SSH (streamlocal channels).
# It pins the login node it first reaches in GATEWAY_STATE_DIR (docs/ssh.md): mount a private volume there, e.g.
#   -v aiplane-gateway-state:/state -e GATEWAY_STATE_DIR=/state, or a restarted container may land on another node.
# A passphrase-protected key needs -it (asked at the terminal) or SSH_KEY_PASSPHRASE_FILE; an agent: mount its
# socket and set SSH_AUTH_SOCK.
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx swc apps/gateway/src libs -d dist -q --ignore '**/*.spec.ts,**/*.int-spec.ts,**/*.e2e-spec.ts' \
  && npx vite build --config apps/dashboard/vite.config.mjs --logLevel warn \
  && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/libs ./dist/libs
COPY --from=build /src/dist/apps/gateway ./dist/apps/gateway
# The dashboard at /ui/: static files, found next to the gateway's own dist directory.
COPY --from=build /src/dist/apps/dashboard ./dist/apps/dashboard
# Inside a container the gateway must listen on all interfaces; publish it on 127.0.0.1 only (see above).
ENV GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8001
USER node
EXPOSE 8001
CMD ["node", "dist/apps/gateway/src/main.js"]
