# Build from the repository root: docker build -f docker/slurm-worker.Dockerfile .
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
COPY --from=build /src/dist/apps/slurm-worker ./dist/apps/slurm-worker
COPY recipes ./recipes
ENV RECIPES_DIR=/app/recipes
# sbatch/squeue/scancel come from the cluster: mount the site's SLURM client and munge socket, or run the
# worker on a login node without a container. The image carries only the worker itself.
USER node

CMD ["node", "dist/apps/slurm-worker/src/main.js"]
