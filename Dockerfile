# Dockerfile — the AWM API server (`awm serve`): HTTP API, /render, downloads, the web page.
# Same two stages as Dockerfile.worker: build with compilers and headers, run on a slim image
# with only run-time libraries, fonts (the /render endpoint draws posters), geography and the
# migrations (`awm serve` applies them at start-up).
#
#   docker build -t awm-api .
#   docker run --env-file .env -p 5173:5173 -v "$PWD/exports:/app/exports" awm-api

# ---- build ---------------------------------------------------------------------------------
FROM debian:12 AS build
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
COPY scripts/packages.sh /src/scripts/packages.sh
RUN source /src/scripts/packages.sh \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${AWM_BUILD_PACKAGES[@]}" \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY assets/package.json assets/package-lock.json assets/
# Behind a TLS-inspecting proxy, npm must trust the proxy's certificate authority: pass its PEM
# file as the build secret build-ca (docker build --secret id=build-ca,src=/path/to/ca.pem, see
# docs/WORKER-DEPLOYMENT.md). A secret is not stored in any layer; without one nothing changes.
RUN --mount=type=secret,id=build-ca \
    if [ -s /run/secrets/build-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build-ca; fi \
 && cd assets && npm ci --no-audit --no-fund
# Only the sources of the binaries, awm and awm-server (editing tests or docs does not rebuild them), one compile
# job per core. These steps are the same in both Dockerfiles: the second image reuses them.
COPY meson.build meson_options.txt ./
COPY src src
RUN meson setup /build /src -Dbuildtype=release -Dtests=false -Dprefix=/usr -Dassets_dir=/usr/share/awm >/dev/null \
 && ninja -C /build -j"$(nproc)" src/cli/awm src/cli/awm-server \
 && strip /build/src/cli/awm /build/src/cli/awm-server
COPY deploy/install.sh deploy/
COPY assets/sample-map.json assets/
COPY db db
COPY web web
RUN deploy/install.sh --build /build --prefix /usr --destdir /staging

# ---- run -----------------------------------------------------------------------------------
FROM debian:12-slim
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
COPY scripts/packages.sh /tmp/packages.sh
RUN source /tmp/packages.sh \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${AWM_RUNTIME_PACKAGES[@]}" curl \
 && rm -rf /var/lib/apt/lists/* /tmp/packages.sh
COPY --from=build /staging/ /
ENV AWM_ASSETS_DIR=/usr/share/awm \
    AWM_CACHE_DIR=/var/cache/awm \
    AWM_FONT_CACHE=/var/cache/awm/fonts
# The geography's binary caches and the place-search index, made once here in AWM_CACHE_DIR (never
# in the read-only assets): at run time the JSON and the gazetteer are never parsed again.
RUN for detail in 110m 50m 10m; do awm geo-bench --runs 1 --detail "$detail" >/dev/null 2>&1; done \
 && test "$(find /var/cache/awm/geo -name '*.awmgeo' | wc -l)" -eq 9 \
 && test "$(find /usr/share/awm -name '*.awmgeo' | wc -l)" -eq 0 \
 && awm places --limit 1 Paris >/dev/null 2>&1 && test -s /var/cache/awm/places/index.awmplaces
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin awm \
 && mkdir -p /app/exports /var/cache/awm/fonts \
 && chown awm:awm /app /app/exports /var/cache/awm/fonts \
 && chown -R awm:awm /var/cache/awm/geo /var/cache/awm/places \
 && chmod 0700 /var/cache/awm/fonts
USER awm
WORKDIR /app
RUN awm render --sample /tmp/warm.png --size 8x10 --dpi 30 --quiet && rm /tmp/warm.png

# HOST=0.0.0.0: reachable from other containers and hosts. Set WORKER_API_KEY (the server
# warns when the worker routes are open while it listens beyond loopback).
ENV HOST=0.0.0.0 \
    PORT=5173 \
    EXPORT_DIR=/app/exports \
    STORAGE=local \
    LOG_LEVEL=info
VOLUME ["/app/exports"]
EXPOSE 5173
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/api/health" >/dev/null || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["awm", "serve"]
