# Build from the repository root: docker build -f docker/health-prober.Dockerfile .
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
COPY --from=build /src/dist/apps/health-prober ./dist/apps/health-prober

USER node

CMD ["node", "dist/apps/health-prober/src/main.js"]
