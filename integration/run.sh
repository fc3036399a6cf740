#!/usr/bin/env bash
# Real-container tests: `integration/run.sh STATIC_DIR` (make integration).
#
# Builds a FROM-scratch image holding only STATIC_DIR's static vigil and
# vigil-testapp, Debian's static busybox and the service.json files of
# integration/config/, then runs the scenarios of scenarios.sh with vigil as
# each container's PID 1. Prints `ok - ...` / `not ok - ...` per scenario and
# ends with `N passed, N failed`.
# No Docker engine: a failure when CI=true, a loud skip otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# A tag of this run's own: concurrent runs never share (or remove) one another's image.
IMG=vigil-it:run-$$
RUN_ID=vigil-it-$$
started=$(date +%s)

die() {
  echo "integration: $*" >&2
  exit 1
}

(($# == 1)) || die "usage: integration/run.sh STATIC_DIR (the static binaries of \`make static\`)"
static=$1

for bin in vigil vigil-testapp; do
  [[ -x "$static/$bin" ]] || die "$static/$bin is missing: run \`make static\` first"
done

if ! command -v docker >/dev/null || ! timeout 30 docker info >/dev/null 2>&1; then
  [[ "${CI:-}" == true ]] && die "FAILED: no reachable Docker engine (\`docker info\` fails), and CI=true requires one"
  echo "integration: ******** SKIPPED: no reachable Docker engine (\`docker info\` fails) ********" >&2
  exit 0
fi

# Debian's busybox-static, for `docker exec C /bin/cat` inside the image.
if [[ ! -x /bin/busybox ]] || readelf -lW /bin/busybox 2>/dev/null | grep -q INTERP; then
  echo "integration: installing busybox-static" >&2
  sudo=
  ((EUID == 0)) || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -qy busybox-static >&2 ||
    { $sudo apt-get update -q >&2 && $sudo apt-get install -qy busybox-static >&2; } ||
    die "cannot install busybox-static"
fi

# shellcheck source=integration/lib.sh
source "$here/lib.sh"
# shellcheck source=integration/scenarios.sh
source "$here/scenarios.sh"
# shellcheck source=integration/flask.sh
source "$here/flask.sh"

ctx=$(mktemp -d)
trap 'cleanup_containers; flask_cleanup; docker rmi -f "$IMG" >/dev/null 2>&1; rm -rf "$ctx"' EXIT

# The build context: the Dockerfile and rootfs/, nothing else. The service.json
# files of the probe and configuration scenarios go to /config.
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp"
chmod 1777 "$ctx/rootfs/tmp"
cp "$here/Dockerfile" "$ctx/"
cp "$static/vigil" "$static/vigil-testapp" "$ctx/rootfs/"
cp /bin/busybox "$ctx/rootfs/bin/"
mkdir "$ctx/rootfs/config"
cp "$here"/config/*.json "$ctx/rootfs/config/"
for tool in sh cat sleep kill ps ls mv; do ln -s busybox "$ctx/rootfs/bin/$tool"; done
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
docker build -q -t "$IMG" "$ctx" >/dev/null 2>"$ctx/build.log" || die "docker build failed: $(cat "$ctx/build.log")"
docker run --rm --network none --entrypoint /bin/cat "$IMG" /dev/null ||
  die "the image cannot run its own busybox (is /bin/busybox static?)"

run_all
run_flask "$static"

size=$(docker image inspect -f '{{.Size}}' "$IMG")
layers=$(docker image inspect -f '{{len .RootFS.Layers}}' "$IMG")
echo "# image $IMG: $((size / 1024)) KiB in $layers layer(s) (FROM scratch + the rootfs of vigil, vigil-testapp, busybox)"
echo "# took $(($(date +%s) - started)) s"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
