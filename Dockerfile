# h2gate container: build on Debian 12 with the same packages as
# deploy/install-deps.sh, run on debian:12-slim with only the shared
# libraries. The Makefile links BoringSSL from the amd64 multiarch path
# (/usr/lib/x86_64-linux-gnu/android), so these images are linux/amd64.
#   docker build -t h2gate .                      the production image (last stage)
#   docker build --target demo -t h2gate-demo .   the demo origin alone
#   docker run --rm -p 3000:3000 -p 9090:9090 h2gate \
#       -f '*,3000;no-tls' -b 'origin.example,80' --admin='*,9090'
# The HEALTHCHECK asks the admin listener on port 9090, so give
# --admin=*,9090 (or 127.0.0.1,9090); without it the container is
# reported unhealthy.

FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential libnghttp2-dev android-libboringssl-dev libev-dev \
      libjemalloc-dev libc-ares-dev libhttp-parser-dev libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Only the two programs: `make all` would also install the test packages.
RUN make build/h2gate build/origin

# The runtime libraries and the unprivileged user, shared by both images.
# A fixed UID so that Kubernetes' runAsNonRoot/runAsUser can name it
# (deploy/k8s/deployment.yaml).
FROM debian:12-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libnghttp2-14 android-libboringssl libev4 libjemalloc2 libc-ares2 \
      libhttp-parser2.9 libcrypt1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 h2gate \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin h2gate
USER 10001:10001

# The demo/test origin (compose.yaml's "origin"), never in the production
# image: docker build --target demo.
FROM runtime AS demo
COPY --from=build /src/build/origin /usr/local/bin/origin
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/origin"]
CMD ["-a", "0.0.0.0", "-p", "8080"]

# The production image: h2gate alone. The last stage, so a plain
# `docker build` makes it.
FROM runtime AS h2gate
COPY --from=build /src/build/h2gate /usr/local/bin/h2gate
# 3000: the proxy (-f); 9090: the admin listener (--admin): /metrics,
# /healthz (liveness), /readyz (readiness).
EXPOSE 3000 9090
STOPSIGNAL SIGTERM
# No curl in the image: h2gate probes itself (one GET, 5s timeout, exit 0
# on 2xx).
HEALTHCHECK --interval=10s --timeout=6s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/h2gate", "--probe=http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/h2gate"]
