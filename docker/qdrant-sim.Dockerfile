# Build from the repository root: docker build -f docker/qdrant-sim.Dockerfile .
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
COPY --from=build /src/dist/apps/qdrant-sim ./dist/apps/qdrant-sim

# Like the qdrant/qdrant image: listen on all interfaces and keep collections in /qdrant/storage (mount a volume).
ENV QDRANT__SERVICE__HOST=0.0.0.0 QDRANT__STORAGE__STORAGE_PATH=/qdrant/storage
RUN mkdir -p /qdrant/storage && chown node:node /qdrant/storage
USER node
EXPOSE 6333
CMD ["node", "dist/apps/qdrant-sim/src/main.js"]
