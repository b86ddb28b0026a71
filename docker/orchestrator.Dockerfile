# Build from the repository root: docker build -f docker/orchestrator.Dockerfile -t aiplane-orchestrator .
# It refuses to start without ORCHESTRATOR_TOKEN (at least 32 bytes). Keep the token in a 0600 env
# file rather than on the command line, where `ps` shows it to every user of the machine:
#   umask 077; printf 'ORCHESTRATOR_TOKEN=%s\nPROXY_TOKEN=%s\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 32)" > aiplane.env
#   docker run --rm --env-file aiplane.env -e ORCHESTRATOR_HOST=0.0.0.0 -e PROXY_URL=http://proxy:8003 \
#     -p 8000:8000 aiplane-orchestrator
# (a compose service: `env_file: aiplane.env`). Outside Docker, ORCHESTRATOR_SOCKET puts it on a Unix socket.
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
COPY --from=build /src/dist/apps/orchestrator ./dist/apps/orchestrator
COPY recipes ./recipes
ENV RECIPES_DIR=/app/recipes
USER node
EXPOSE 8000
CMD ["node", "dist/apps/orchestrator/src/main.js"]
