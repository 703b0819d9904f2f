#!/usr/bin/env bash
# CI: build the Dockerfile with podman on a debootstrapped base (no image registry), then run
# `monitor validate` and a one-shot `monitor check` against a local fixture portal inside the
# built image's filesystem (podman image mount + chroot, as the image's user; no `podman run`).
#
# Needs root and apt (podman and debootstrap are installed when missing). Settings (env):
#   MONITOR_CI_CACHE           cache directory (default /var/cache/monitor-ci): the base rootfs
#                              tarball and podman's storage (storage-<driver>/), so a second
#                              run is fast; delete it to start from nothing
#   MONITOR_CI_STORAGE_DRIVER  podman storage driver (default: overlay, else vfs)
#   MONITOR_CI_BASE_MAX_AGE    days before the base rootfs is debootstrapped again (default 30)
#   MONITOR_CI_MIRROR          Debian mirror (default http://deb.debian.org/debian)
#   PIP_INDEX_URL, PIP_CERT    passed to the build's pip when set; PIP_CERT defaults to the
#                              host's CA bundle when the host trusts extra CAs (TLS proxy)
set -Eeuo pipefail
cd "$(dirname "$0")/.."

CACHE=${MONITOR_CI_CACHE:-/var/cache/monitor-ci}
MIRROR=${MONITOR_CI_MIRROR:-http://deb.debian.org/debian}
BASE_MAX_AGE=${MONITOR_CI_BASE_MAX_AGE:-30}
BASE_TAR=$CACHE/debian-bookworm-minbase.tar.gz
BASE_IMAGE=docker.io/library/debian:bookworm-slim
IMAGE=localhost/monitor:ci
RUNROOT=/run/monitor-ci  # podman's run directory, one per storage driver
APP_UID=10001

STEP=setup
WORK=
MOUNTED_IMAGE=
SERVER_PID=
DAEMON_PID=
MOUNTS=()

fail() { echo "container: FAILED in step '$STEP': $*" >&2; exit 1; }
on_error() { echo "container: FAILED in step '$STEP' (line $1: exit $2)" >&2; }
trap 'on_error $LINENO $?' ERR
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

now() { date +%s.%N; }
# step NAME FUNCTION: run it and print how long it took.
step() {
    STEP=$1
    local start
    start=$(now)
    echo "container: -- $1"
    "$2"
    elapsed "$1" "$start"
}

elapsed() { awk -v n="$1" -v a="$2" -v b="$(now)" 'BEGIN { printf "container: %-22s %6.1f s\n", n, b - a }'; }

pm() {
    podman --root "$CACHE/storage-$DRIVER" --runroot "$RUNROOT-$DRIVER" --storage-driver "$DRIVER" \
        "$@"
}

cleanup() {
    local code=$?
    set +e
    trap - ERR
    [[ -n $DAEMON_PID ]] && stop_daemon
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null
    local index
    for ((index = ${#MOUNTS[@]} - 1; index >= 0; index--)); do
        umount -R "${MOUNTS[index]}" 2>/dev/null || umount -R -l "${MOUNTS[index]}" 2>/dev/null \
            || echo "container: could not unmount ${MOUNTS[index]}" >&2
    done
    [[ -n $MOUNTED_IMAGE ]] && pm image unmount "$MOUNTED_IMAGE" >/dev/null 2>&1
    [[ -n $WORK ]] && rm -rf --one-file-system "$WORK"
    if ((code == 0)); then
        echo "container: OK"
    else
        echo "container: FAILED (exit $code)" >&2
    fi
}

# SIGTERM, then SIGKILL after 15 s (a daemon left running would keep the mounts busy).
stop_daemon() {
    kill -TERM "$DAEMON_PID" 2>/dev/null
    for _ in $(seq 30); do
        kill -0 "$DAEMON_PID" 2>/dev/null || return 0
        sleep 0.5
    done
    kill -KILL "$DAEMON_PID" 2>/dev/null
}

# mount_at TARGET MOUNT-ARGS…: mount, and remember to unmount it on exit.
mount_at() {
    local target=$1
    shift
    mount "$@" "$target"
    MOUNTS+=("$target")
}

install_tools() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if ((${#missing[@]})); then
        echo "container: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
    [[ $(id -u) == 0 ]] || fail "must run as root (debootstrap, podman storage, chroot)"
    mkdir -p "$CACHE"
    exec 9>"$CACHE/lock"  # one run at a time per cache: they share the base, the store, the tag
    flock -w 1800 9 || fail "another run holds $CACHE/lock"
    WORK=$(mktemp -d /tmp/monitor-ci.XXXXXX)
}

# Overlay where the kernel and filesystem allow it, else vfs (slower: full copies per layer).
pick_driver() {
    if [[ -n ${MONITOR_CI_STORAGE_DRIVER:-} ]]; then
        DRIVER=$MONITOR_CI_STORAGE_DRIVER
    elif [[ -f $CACHE/storage-driver ]]; then
        DRIVER=$(<"$CACHE/storage-driver")
    else
        DRIVER=vfs
        local probe
        probe=$(mktemp -d "$CACHE/overlay-probe.XXXXXX")
        mkdir "$probe"/{lower,upper,work,merged}
        if mount -t overlay overlay \
            -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
            "$probe/merged" 2>/dev/null; then
            umount "$probe/merged"
            DRIVER=overlay
        fi
        rm -rf "$probe"
        echo "$DRIVER" >"$CACHE/storage-driver"
    fi
    echo "container: storage driver $DRIVER, storage $CACHE/storage-$DRIVER"
}

base_is_fresh() {
    [[ -f $BASE_TAR ]] && [[ -z $(find "$BASE_TAR" -mtime "+$BASE_MAX_AGE") ]]
}

# A minbase bookworm configured like the official slim image, as a tarball in the cache.
debootstrap_base() {
    if base_is_fresh; then
        echo "container: cached $BASE_TAR"
        return
    fi
    local rootfs=$WORK/rootfs
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { umount -R "$rootfs"/{proc,sys,dev} 2>/dev/null || true
             tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed"; }
    configure_base "$rootfs"
    tar --numeric-owner --xattrs -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' \
        --exclude='./sys/*' -cf - . | gzip -1 >"$BASE_TAR.tmp"
    mv "$BASE_TAR.tmp" "$BASE_TAR"
    rm -rf --one-file-system "$rootfs"
    echo "container: wrote $BASE_TAR ($(du -h "$BASE_TAR" | cut -f1))"
}

configure_base() {
    local rootfs=$1
    rm -f "$rootfs/etc/apt/sources.list" "$rootfs/etc/hostname"
    : >"$rootfs/etc/resolv.conf"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
    echo 'Binary::apt::APT::Keep-Downloaded-Packages "false";' \
        >"$rootfs/etc/apt/apt.conf.d/docker-clean"
    find "$rootfs/usr/share/doc" -not -type d -not -name copyright -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*.log
}

# Import the tarball as the Dockerfile's FROM, unless the store has it from this tarball.
import_base() {
    local created
    created=$(pm image inspect --format '{{.Created.Unix}}' "$BASE_IMAGE" 2>/dev/null || echo 0)
    if ((created >= $(stat -c %Y "$BASE_TAR"))); then
        echo "container: $BASE_IMAGE already imported"
        return
    fi
    pm import --change 'CMD ["bash"]' "$BASE_TAR" "$BASE_IMAGE" >/dev/null
    echo "container: imported $BASE_IMAGE"
}

build_image() {
    local args=(--isolation=chroot --pull=never --format=docker --layers --tag "$IMAGE")
    local cert=${PIP_CERT:-}
    if [[ -z $cert ]] && compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        cert=/etc/ssl/certs/ca-certificates.crt  # the host trusts extra CAs: pip needs them too
    fi
    if [[ -n $cert ]]; then
        args+=(--volume "$cert:/run/ci-ca.crt:ro" --build-arg PIP_CERT=/run/ci-ca.crt)
    fi
    [[ -n ${PIP_INDEX_URL:-} ]] && args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
    pm build "${args[@]}" . >"$WORK/build.log" 2>&1 \
        || { tail -n 40 "$WORK/build.log" >&2; fail "podman build failed (log above)"; }
    grep -E '^(STEP|COMMIT|--> Using cache)' "$WORK/build.log" | cut -c1-100 || true
    pm image prune --force >/dev/null  # the previous build's image, now untagged
}

# What the image promises: non-root user, health check, state volume, the daemon as command.
inspect_image() {
    local user health volumes cmd
    user=$(pm image inspect --format '{{.Config.User}}' "$IMAGE")
    health=$(pm image inspect --format '{{.HealthCheck}}' "$IMAGE")
    volumes=$(pm image inspect --format '{{.Config.Volumes}}' "$IMAGE")
    cmd=$(pm image inspect --format '{{.Config.Cmd}}' "$IMAGE")
    echo "container: user=$user volumes=$volumes cmd=$cmd size=$(pm image inspect \
        --format '{{.Size}}' "$IMAGE" | numfmt --to=iec)"
    [[ $user == "$APP_UID:$APP_UID" ]] || fail "image user is '$user', not $APP_UID:$APP_UID"
    [[ $health == *"monitor healthcheck"* ]] || fail "no HEALTHCHECK monitor healthcheck: $health"
    [[ $volumes == *"/state"* ]] || fail "no /state volume: $volumes"
    [[ $cmd == "[monitor run]" ]] || fail "command is $cmd, not monitor run"
}

# The image's filesystem, read-only, with /proc, /dev, a scratch /tmp and a writable /state.
mount_image() {
    ROOT=$(pm image mount "$IMAGE")
    MOUNTED_IMAGE=$IMAGE
    mount_at "$ROOT/proc" -t proc proc
    mount_at "$ROOT/dev" --rbind /dev
    mount --make-rslave "$ROOT/dev"
    mount_at "$ROOT/tmp" -t tmpfs -o mode=1777,size=256m tmpfs
    mkdir -p "$WORK/state"
    chown "$APP_UID:$APP_UID" "$WORK/state"
    mount_at "$ROOT/state" --bind "$WORK/state"
    cp tests/container/check.yaml "$ROOT/tmp/check.yaml"
    mapfile -t IMAGE_ENV < <(pm image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \
        "$IMAGE" | sed '/^$/d')
    local tools
    tools=$(in_image sh -c 'for t in gcc cc c++ make; do command -v $t; done' || true)
    [[ -z $tools ]] || fail "build tools left in the image: $tools"
}

# image_command COMMAND…: sets CMD to run it in the image's filesystem as its user, with its
# environment and working directory (the host's network: the fixture portal is on 127.0.0.1).
image_command() {
    CMD=(chroot --userspec="$APP_UID:$APP_UID" "$ROOT" /usr/bin/env -i --chdir=/app
         "${IMAGE_ENV[@]}" HOME=/state PORTAL_URL="${PORTAL_URL:-}" "$@")
}

in_image() {
    image_command "$@"
    "${CMD[@]}"
}

validate_config() {
    in_image monitor validate || fail "monitor validate rejected the image's /app/sources.yaml"
}

start_portal() {
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory tests/container/portal \
        >"$WORK/portal.log" 2>&1 &
    SERVER_PID=$!
    local port=
    for _ in $(seq 50); do
        port=$(sed -n 's/^Serving HTTP on .* port \([0-9]*\) .*/\1/p' "$WORK/portal.log")
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || fail "fixture portal did not start: $(cat "$WORK/portal.log")"
    PORTAL_URL=http://127.0.0.1:$port
    echo "container: fixture portal at $PORTAL_URL"
}

one_shot_check() {
    in_image monitor --config /tmp/check.yaml check 2>"$WORK/check.log" \
        || { cat "$WORK/check.log" >&2; fail "monitor check exited non-zero"; }
    local documents matches outbox
    documents=$(in_image monitor --config /tmp/check.yaml export documents --format jsonl | wc -l)
    matches=$(in_image monitor --config /tmp/check.yaml export matches --format jsonl)
    outbox=$(cat "$WORK"/state/outbox/*.json 2>/dev/null || true)
    ((documents == 3)) || fail "expected 3 documents stored, found $documents"
    [[ $(grep -c '"topic": "blockchain-policy"' <<<"$matches") == 2 ]] \
        || fail "expected 2 blockchain-policy matches, got: $matches"
    grep -q '区块链产业协同创新三年行动方案' <<<"$outbox" \
        || fail "the digest in state/outbox does not list the action plan"
    grep -q '试点单位名单' <<<"$outbox" || fail "the digest in state/outbox does not list the pilot list"
    if grep -q '地质灾害' <<<"$outbox"; then fail "the digest lists the unrelated flood notice"; fi
    echo "container: $documents documents, 2 matches, digest in $(ls "$WORK/state/outbox" | tr '\n' ' ')"
}

# The daemon in the image: its heartbeat makes `monitor healthcheck` (the HEALTHCHECK) pass,
# and SIGTERM (the STOPSIGNAL) stops it with exit 0.
daemon_health() {
    image_command monitor --config /tmp/check.yaml run
    "${CMD[@]}" 2>"$WORK/daemon.log" &  # a simple command: $! is the daemon itself
    DAEMON_PID=$!
    local healthy=
    for _ in $(seq 60); do
        if in_image monitor healthcheck >/dev/null 2>&1; then healthy=1; break; fi
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.5
    done
    [[ -n $healthy ]] || { tail -n 20 "$WORK/daemon.log" >&2; fail "monitor healthcheck never passed"; }
    observe_endpoint
    kill -TERM "$DAEMON_PID"
    local code=0
    wait "$DAEMON_PID" || code=$?
    DAEMON_PID=
    ((code == 0)) || { tail -n 20 "$WORK/daemon.log" >&2; fail "monitor run exited $code on SIGTERM"; }
    echo "container: healthcheck passed; SIGTERM stopped the daemon with exit 0"
}

# The daemon's /healthz, /readyz and /metrics, from the host (the chroot shares its network).
observe_endpoint() {
    local address=
    for _ in $(seq 20); do
        address=$(cat "$WORK/state/observe.addr" 2>/dev/null) && break
        sleep 0.25
    done
    [[ -n $address ]] || fail "the daemon wrote no /state/observe.addr"
    [[ $address == 0.0.0.0:* ]] || fail "observe is on '$address', not 0.0.0.0 (MONITOR_OBSERVE_HOST)"
    python3 - "http://127.0.0.1:${address#*:}" <<'PY' || fail "the observe endpoint on $address failed"
import sys, urllib.request
base = sys.argv[1]
for path in ("/healthz", "/readyz"):
    urllib.request.urlopen(base + path, timeout=5)  # raises on anything but 2xx
metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
assert "monitor_checks_total" in metrics, metrics[:500]
PY
    echo "container: observe endpoint on $address: /healthz and /readyz 200, /metrics served"
}

main() {
    local start
    start=$(now)
    step tools install_tools
    step storage-driver pick_driver
    step debootstrap debootstrap_base
    step import-base import_base
    step build build_image
    step inspect inspect_image
    step mount mount_image
    step validate validate_config
    step portal start_portal
    step check one_shot_check
    step daemon-health daemon_health
    STEP=done
    elapsed total "$start"
}

main "$@"
