#!/usr/bin/env bash
# base-images.sh — make the images the Dockerfiles start FROM (debian:12, debian:12-slim) on a
# machine that reaches Debian's mirror but no image registry: debootstrap a minimal bookworm
# (the same --variant=minbase the official images are made with), `docker import` it, and make
# the slim one by removing documentation, manual pages and translations (and telling dpkg to
# leave them out of later installs, as the official slim image does).
#
#   tests/docker/base-images.sh CACHE_DIR
#
# Images already in the engine are kept. The root filesystem is kept as CACHE_DIR/debian-12.tar,
# so a new engine (a fresh /var/lib/docker) imports it again without debootstrap. Needs root.
set -euo pipefail
cache=${1:?usage: base-images.sh CACHE_DIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
docker image inspect debian:12 debian:12-slim >/dev/null 2>&1 && exit 0
mkdir -p "$cache"
tarball="$cache/debian-12.tar"
work=$(mktemp -d "$cache/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -s "$tarball" ]; then
  echo "base-images: debootstrap bookworm from $mirror (once; kept in $tarball)"
  debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  # As in the official image: the release, its updates and the security archive.
  rm -f "$work/root/etc/apt/sources.list"
  cat >"$work/root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${mirror}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # No package caches in images (the official images' docker-clean).
  cat >"$work/root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  chroot "$work/root" apt-get clean
  rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/log/"*.log "$work/root/var/cache/debconf/"*-old
  tar -C "$work/root" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$work/root"
fi

if ! docker image inspect debian:12 >/dev/null 2>&1; then
  docker import --change 'CMD ["bash"]' "$tarball" debian:12 >/dev/null
fi
if ! docker image inspect debian:12-slim >/dev/null 2>&1; then
  mkdir "$work/slim"
  tar -C "$work/slim" --numeric-owner -xf "$tarball"
  cat >"$work/slim/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
  find "$work/slim/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$work/slim/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$work/slim/usr/share/"{groff,info,linda,lintian,man}/*
  find "$work/slim/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar -C "$work/slim" --numeric-owner -c . | docker import --change 'CMD ["bash"]' - debian:12-slim >/dev/null
fi
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^debian:12'
