# Build from the repository root: docker build -f docker/orchestrator.Dockerfile .
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
