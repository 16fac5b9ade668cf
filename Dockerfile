# syntax=docker/dockerfile:1
#
# upgrade-guard image: the compiled webhook server and CLI on distroless Node.js 24.
#   docker build -t upgrade-guard:0.1.0 .
#
# Base images are pinned by exact tag. Pin them by digest too where you build (for example
# node:24.21.0-bookworm-slim@sha256:...) and let your dependency bot bump both.
# The Node version matches the `node` devDependency the tests run on; build and runtime are
# both Debian 12 (bookworm).

# 1. Compile TypeScript with the dev dependencies.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing here needs an install script. The only dependency with one is the
# `node` devDependency, which downloads a second Node binary for the tests; not wanted here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only, in a clean stage (no dev dependencies, no compiler).
FROM node:24.21.0-bookworm-slim AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete
# (Type declarations and source maps are not needed at run time: about 50 of 116 MB.)

# 3. Runtime: distroless Node.js 24 (no shell, no package manager), user nonroot (65532).
FROM gcr.io/distroless/nodejs24-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# The built-in default policy (policy/load.ts resolves ../../policies/default.yaml from dist).
COPY policies ./policies
USER 65532:65532
EXPOSE 8443 9090
# The image's ENTRYPOINT is node itself (/nodejs/bin/node), so node runs as PID 1. PID 1 gets
# no default signal handling from the kernel: SIGTERM would be ignored and the pod killed only
# after its grace period. The server installs SIGTERM/SIGINT handlers (stop accepting, finish
# in-flight reviews, exit), so node as PID 1 is correct here; it starts no child processes, so
# there are no zombies to reap.
# Same entry point as `npm start`; the flags are the in-cluster ones (certificates from a
# mounted Secret, state from the API server). The Deployment passes its own args.
CMD ["/app/dist/cli/main.js", "serve", "--in-cluster", "--policy", "/app/policies/default.yaml", "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key"]
