#!/usr/bin/env bash
# A second Docker engine on this machine, standing in for a remote DOCKER_HOST (issue 17).
#
#   sudo tests/integration/engine2.sh start     # start it (idempotent), print the env to export
#   sudo tests/integration/engine2.sh status    # running? print the env again
#   sudo tests/integration/engine2.sh stop      # stop it and remove its firewall rules
#   sudo tests/integration/engine2.sh purge     # stop, then delete its data (images included)
#   eval "$(sudo tests/integration/engine2.sh env)"   # CHAOSPLANE_ENGINE2_HOST, …_SUBNET_POOL
#
# It never touches the main engine: its own --data-root, --exec-root, --pidfile, socket,
# config file (the main /etc/docker/daemon.json is not read), its own containerd (started by
# dockerd under the exec root) and cgroup parent, and its own default bridge ($BRIDGE, made
# here: `--bridge=none` would make dockerd delete the host's `docker0` — the main engine's
# default bridge — at start, daemon_unix.go removeDefaultBridgeInterface). It does not manage
# iptables (--iptables=false, no masquerade), so it cannot rewrite the chains the main engine owns;
# the only host rule it adds is one ACCEPT chain for traffic inside its own address pool (the
# main engine sets FORWARD's policy to DROP and bridge-nf-call-iptables is on, which would drop
# container-to-container traffic on this engine's bridges). Its pools (the harness's subnets and
# Docker's default pool) are separate from the main engine's 10.201.0.0/16, so two runs on the
# two engines can never pick the same /24 on this one host.
set -euo pipefail

NAME=chaosplane-engine2
ROOT=${CHAOSPLANE_ENGINE2_ROOT:-/var/lib/$NAME}
EXEC_ROOT=/run/$NAME                 # short: containerd's socket path must stay < 108 bytes
SOCK=/run/$NAME.sock
PIDFILE=/run/$NAME.pid
ENVFILE=/run/$NAME.env
POOL=${CHAOSPLANE_ENGINE2_POOL:-10.202.0.0/16}            # the harness's /24s on this engine
DEFAULT_POOL=${CHAOSPLANE_ENGINE2_DEFAULT_POOL:-10.203.0.0/16}  # Docker's own, unused by us
STORAGE=${CHAOSPLANE_ENGINE2_STORAGE:-$(docker info -f '{{.Driver}}' 2>/dev/null || echo overlay2)}
CHAIN=CHAOSPLANE-ENGINE2
BRIDGE=cpe2br0                       # this engine's default bridge (never docker0)
BRIDGE_CIDR=${DEFAULT_POOL%.0.0/16}.255.1/24
START_TIMEOUT_S=${CHAOSPLANE_ENGINE2_START_TIMEOUT_S:-90}

die() { echo "engine2: $*" >&2; exit 1; }

running() {
    [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

print_env() {
    echo "export CHAOSPLANE_ENGINE2_HOST=unix://$SOCK"
    echo "export CHAOSPLANE_ENGINE2_SUBNET_POOL=$POOL"
}

firewall_up() {
    iptables -w -N "$CHAIN" 2>/dev/null || iptables -w -F "$CHAIN"
    iptables -w -A "$CHAIN" -s "$POOL" -d "$POOL" -j ACCEPT
    iptables -w -A "$CHAIN" -s "$DEFAULT_POOL" -d "$DEFAULT_POOL" -j ACCEPT
    iptables -w -C FORWARD -j "$CHAIN" 2>/dev/null || iptables -w -I FORWARD 1 -j "$CHAIN"
}

firewall_down() {
    while iptables -w -D FORWARD -j "$CHAIN" 2>/dev/null; do :; done
    iptables -w -F "$CHAIN" 2>/dev/null || true
    iptables -w -X "$CHAIN" 2>/dev/null || true
}

start() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (dockerd needs it)"
    command -v dockerd >/dev/null || die "dockerd is not on PATH (apt-get install docker.io)"
    if running; then
        echo "engine2: already running (pid $(cat "$PIDFILE"), $SOCK)" >&2
        print_env > "$ENVFILE"
        print_env
        return
    fi
    ip link del "$BRIDGE" 2>/dev/null || true   # ours, left by a crashed run
    # A route the host already has for either pool (another engine's bridge, a VPN) would
    # make this engine's containers unreachable or shadow them: refuse rather than collide.
    for pool in "$POOL" "$DEFAULT_POOL"; do
        prefix=${pool%.0.0/16}
        if ip -4 route show | grep -q "^$prefix\."; then
            die "the host already routes addresses in $pool: $(ip -4 route show | grep "^$prefix\." | head -1); set CHAOSPLANE_ENGINE2_POOL / CHAOSPLANE_ENGINE2_DEFAULT_POOL to a free /16"
        fi
    done
    mkdir -p "$ROOT/data" "$EXEC_ROOT"
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    cat > "$ROOT/daemon.json" <<EOF
{"storage-driver": "$STORAGE", "mtu": 1400, "log-driver": "json-file",
 "log-opts": {"max-size": "10m", "max-file": "3"}}
EOF
    rm -f "$SOCK"
    firewall_up
    # dockerd deletes the host's docker0 at start even with --bridge=<ours> (seen with 28.x):
    # note it now and put it back once this engine answers, so the main engine keeps it.
    local docker0_cidr="" docker0_mtu=""
    if ip link show docker0 >/dev/null 2>&1; then
        docker0_cidr=$(ip -4 -o addr show dev docker0 | awk '{print $4}' | head -1)
        docker0_mtu=$(cat /sys/class/net/docker0/mtu)
    fi
    setsid dockerd \
        --config-file "$ROOT/daemon.json" \
        --data-root "$ROOT/data" \
        --exec-root "$EXEC_ROOT" \
        --pidfile "$PIDFILE" \
        --host "unix://$SOCK" \
        --iptables=false --ip-masq=false --ip-forward=false \
        --bridge="$BRIDGE" \
        --default-address-pool "base=$DEFAULT_POOL,size=24" \
        --cgroup-parent /$NAME \
        --log-level warn \
        </dev/null >>"$ROOT/dockerd.log" 2>&1 &
    local waited=0
    until docker -H "unix://$SOCK" version >/dev/null 2>&1; do
        sleep 1
        waited=$((waited + 1))
        if (( waited >= START_TIMEOUT_S )); then
            tail -20 "$ROOT/dockerd.log" >&2
            die "dockerd did not answer on $SOCK within ${START_TIMEOUT_S}s (log: $ROOT/dockerd.log)"
        fi
    done
    if [[ -n $docker0_mtu ]] && ! ip link show docker0 >/dev/null 2>&1; then
        ip link add docker0 type bridge
        ip link set docker0 mtu "$docker0_mtu"
        [[ -z $docker0_cidr ]] || ip addr add "$docker0_cidr" dev docker0
        ip link set docker0 up
        echo "engine2: put back the host's docker0 ($docker0_cidr) that dockerd removed" >&2
    fi
    print_env > "$ENVFILE"
    echo "engine2: running (pid $(cat "$PIDFILE"), $SOCK, storage $STORAGE, pool $POOL)" >&2
    print_env
}

stop() {
    if running; then
        local pid
        pid=$(cat "$PIDFILE")
        # Containers and networks the harness left would keep their bridges and routes.
        local left
        left=$(docker -H "unix://$SOCK" ps -aq --filter label=chaosplane || true)
        [[ -z $left ]] || docker -H "unix://$SOCK" rm -f $left >/dev/null || true
        left=$(docker -H "unix://$SOCK" network ls -q --filter label=chaosplane || true)
        [[ -z $left ]] || docker -H "unix://$SOCK" network rm $left >/dev/null || true
        kill -TERM "$pid"
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        if kill -0 "$pid" 2>/dev/null; then
            die "dockerd (pid $pid) did not stop within 30 s; it is still running"
        fi
        echo "engine2: stopped (pid $pid)" >&2
    else
        echo "engine2: not running" >&2
    fi
    firewall_down
    ip link del "$BRIDGE" 2>/dev/null || true
    rm -f "$ENVFILE" "$SOCK"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status)
        if running; then echo "engine2: running (pid $(cat "$PIDFILE"))" >&2; print_env
        else echo "engine2: not running" >&2; exit 3; fi ;;
    env) running || die "not running; start it with: sudo $0 start"; print_env ;;
    purge) stop; rm -rf "$ROOT" "$EXEC_ROOT" ;;
    *) echo "usage: $0 start|stop|status|env|purge" >&2; exit 2 ;;
esac
