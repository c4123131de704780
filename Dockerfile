# h2gate container: build on Debian 12 with the same packages as
# deploy/install-deps.sh, run on debian:12-slim with only the shared
# libraries. The Makefile links BoringSSL from the amd64 multiarch path
# (/usr/lib/x86_64-linux-gnu/android), so this image is linux/amd64.
#   docker build -t h2gate .
#   docker run --rm -p 3000:3000 -v $PWD/tls:/tls:ro h2gate \
#       -f '*,3000' -b 'origin.example,80' /tls/key.pem /tls/cert.pem

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

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libnghttp2-14 android-libboringssl libev4 libjemalloc2 libc-ares2 \
      libhttp-parser2.9 libcrypt1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin h2gate
COPY --from=build /src/build/h2gate /usr/local/bin/h2gate
# The demo/test origin, for trying the image: docker run --entrypoint origin ...
COPY --from=build /src/build/origin /usr/local/bin/origin
USER h2gate
EXPOSE 3000
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/h2gate"]
