#!/usr/bin/env bash
# integration/python-image.sh: prints the tag of a base image with Python 3 and
# Flask, building it first when it is missing. Nothing is pulled: the root
# file system is Debian bookworm's packages (debootstrap --variant=minbase,
# python3 and python-is-python3, so `python app.py` works), imported with
# `docker import`; the wheels of examples/eas-flask/requirements.txt are
# downloaded on the host (pip) and unpacked into /usr/local/lib/python3.11/
# dist-packages (wheels are zip files: no pip is needed in the image).
#
# The tag is vigil-py:<hash of this script and requirements.txt>, so a change
# to either builds a new image and an unchanged one is reused. Concurrent
# first builds wait for each other (flock). Progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
req=$here/../examples/eas-flask/requirements.txt
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PYVER=3.11 # bookworm's python3; the wheels are chosen for it

tag=vigil-py:$(cat "$0" "$req" | sha256sum | cut -c1-16)
have() { docker image inspect "$tag" >/dev/null 2>&1; }

if have; then
  echo "$tag"
  exit 0
fi

exec 9>/tmp/vigil-py-image.lock
flock 9
if have; then
  echo "$tag"
  exit 0
fi

say() { echo "python-image: $*" >&2; }
started=$(date +%s)
sudo=
((EUID == 0)) || sudo=sudo
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -qy debootstrap >&2 ||
    { $sudo apt-get update -q >&2 && $sudo apt-get install -qy debootstrap >&2; }
fi

work=$(mktemp -d)
trap '$sudo rm -rf "$work"' EXIT
root=$work/root

say "building $tag: debootstrap bookworm (minbase + python3) from $MIRROR"
$sudo debootstrap --variant=minbase --include=python3,python-is-python3 \
  bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

say "downloading the wheels of $req"
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --python-version "$PYVER" --implementation cp --platform manylinux2014_x86_64 \
  -r "$req" -d "$work/wheels" >&2
site=$root/usr/local/lib/python$PYVER/dist-packages
$sudo mkdir -p "$site"
for w in "$work"/wheels/*.whl; do
  $sudo python3 -m zipfile -e "$w" "$site/"
done

# What an image does not need.
$sudo rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/locale "$root"/usr/share/info

$sudo tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -m "Debian bookworm minbase, python3, Flask ($(basename "$req"))" - "$tag" >/dev/null
docker run --rm --network none "$tag" python -c 'import flask, markupsafe._speedups' ||
  { docker rmi "$tag" >/dev/null 2>&1; say "the image cannot import flask"; exit 1; }
say "built $tag in $(($(date +%s) - started)) s"
echo "$tag"
