#!/bin/sh
# library-packages.sh BINARY — one line per shared library BINARY loads: "<path> <package>"
# (package "?" when dpkg knows no owner). Sanitizer runtimes are left out: a release build
# has none. One dpkg -S call for all paths, each also under its other name from usrmerge
# (/lib/x <-> /usr/lib/x) and as the file its symlink points to.
set -eu
libs=$(ldd "$1" | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | grep -vE 'lib(asan|ubsan|lsan|tsan)\.so' | sort -u)
names() {
  echo "$1"
  case $1 in /usr/*) echo "${1#/usr}" ;; *) echo "/usr$1" ;; esac
  readlink -f "$1"
}
owners=$(for lib in $libs; do names "$lib"; done | sort -u | xargs dpkg -S 2>/dev/null | grep -v '^diversion' || true)
for lib in $libs; do
  pkg=""
  for n in $(names "$lib"); do
    pkg=$(printf '%s\n' "$owners" | awk -v p="$n" '{ path = $NF } path == p { sub(/[:,].*/, "", $1); print $1; exit }')
    [ -n "$pkg" ] && break
  done
  echo "$lib ${pkg:-?}"
done
