# packages.sh — the Debian 12 packages AWM needs, in one place (sourced by scripts/setup
# and by the Dockerfiles). RUNTIME: what the programs load at run time. BUILD: what a release
# build of `awm` needs (the images' build stage). DEV: the fuzz and sanitizer toolchain.
# TEST: servers and tools the test suite drives (docker.io and debootstrap: the docker suite;
# qpdf and poppler-utils read the PDFs back; libgs-common ships the CMYK profile default_cmyk.icc).
AWM_RUNTIME_PACKAGES=(
  libmicrohttpd12 libcurl4 libpq5 libjansson4 libcairo2 libpango-1.0-0 libpangocairo-1.0-0
  libpangoft2-1.0-0 libfontconfig1 libqrencode4 liblcms2-2 libqpdf29 libpng16-16 zlib1g libisal2
  fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji fontconfig ca-certificates
)
AWM_BUILD_PACKAGES=(
  gcc meson ninja-build pkg-config
  libmicrohttpd-dev libcurl4-openssl-dev libpq-dev libjansson-dev libcairo2-dev libpango1.0-dev
  libfontconfig-dev libqrencode-dev liblcms2-dev libqpdf-dev libpng-dev zlib1g-dev libisal-dev
  nodejs npm
)
AWM_DEV_PACKAGES=(clang libclang-rt-14-dev)
AWM_TEST_PACKAGES=(
  postgresql-15 postgresql-client-15 zbar-tools wrk iproute2 openssl curl procps python3
  libxml2-utils docker-compose chromium docker.io debootstrap
  qpdf poppler-utils libgs-common nginx-light
)
