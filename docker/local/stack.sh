#!/usr/bin/env bash
# The local real stack for development and tests, on a host without a container engine.
#
# Asterisk 22, SIPp and baresip are not packaged for Debian 12, so they run from a Debian sid
# root built with debootstrap and cached outside the work tree. Several named Asterisk
# instances can run from the same root at once, each with its own config, run, spool, lib, log
# and cache directories and its own ports. MariaDB and Redis are the host's own services.
#
# Usage:
#   stack.sh build-root [--force]          build (or rebuild) the cached sid root
#   stack.sh up      [--instance NAME]     ensure MariaDB + Redis, the root, and a running,
#                                          healthy Asterisk instance (default NAME: main)
#   stack.sh down    [--instance NAME | --all]
#   stack.sh destroy --instance NAME       stop an instance and delete its state and slot
#   stack.sh prune                         destroy every stopped instance except main
#   stack.sh status                        root, services and instances at a glance
#   stack.sh cli     [--instance NAME] 'core show channels'     (asterisk -rx)
#   stack.sh logs    [--instance NAME] [--follow] [--lines N]
#   stack.sh env     [--instance NAME]     print the instance's env file
#   stack.sh run     -- CMD [ARGS...]      run a program inside the root (e.g. sipp, baresip)
#
# Environment (all optional):
#   IPCC_STACK_DIR           cache and state directory          default /var/cache/ipcc-stack
#   IPCC_STACK_ROOT          the sid root                       default $IPCC_STACK_DIR/sid-root
#   IPCC_STACK_SUITE         Debian suite of the root           default sid
#   IPCC_STACK_PACKAGES      comma-separated packages of the root (a changed set rebuilds it)
#   IPCC_STACK_MIRROR        Debian mirror URI; default: read at run time from the first
#                            non-security `URIs:` line of /etc/apt/sources.list.d/*.sources
#   IPCC_STACK_BOOT_TIMEOUT  seconds to wait for Asterisk to answer ARI   default 60
#   IPCC_STACK_SKIP_DEPS=1   do not check or start MariaDB and Redis
#
#   Per instance, applied to the instance being brought up and then kept in its env file.
#   Defaults derive from the instance's slot (main is slot 0, others get the lowest free
#   slot 1..40) so that instances never share a port:
#   IPCC_STACK_ARI_PORT      ARI/HTTP on 127.0.0.1      slot 0: 8088,  slot n: 8088+n
#   IPCC_STACK_SIP_PORT      SIP/UDP on 127.0.0.1       slot 0: 5060,  slot n: 5060+2n
#   IPCC_STACK_RTP_START/END RTP port range             slot 0: 10000-19999,
#                                                       slot n: 20000+1000(n-1) .. +999
#   IPCC_STACK_ARI_USER      ARI user                   default ipcc
#   IPCC_STACK_ARI_PASSWORD  ARI password (dev only)    default ipcc-dev-NAME
#   IPCC_STACK_ARI_APP       production Stasis app name default ipcc
#   IPCC_STACK_TEST_CALLER_IP  address whose SIP requests are test calls   default 127.0.0.2
#
# Output: `up` prints the path of the instance's env file on stdout
# ($IPCC_STACK_DIR/instances/NAME/env, KEY=VALUE lines: IPCC_ARI_URL, IPCC_ARI_USER,
# IPCC_ARI_PASSWORD, IPCC_SIP_HOST, IPCC_SIP_PORT, IPCC_STACK_ROOT, ..., and IPCC_ASTERISK_SERVERS
# as the server's config reads it). Progress goes to stderr.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATE_DIR=$(cd "$SCRIPT_DIR/../asterisk" && pwd)
STACK_DIR=${IPCC_STACK_DIR:-/var/cache/ipcc-stack}
ROOT=${IPCC_STACK_ROOT:-$STACK_DIR/sid-root}
SUITE=${IPCC_STACK_SUITE:-sid}
PACKAGES=${IPCC_STACK_PACKAGES:-asterisk,asterisk-modules,asterisk-core-sounds-en-gsm,asterisk-moh-opsound-gsm,ca-certificates,sip-tester,baresip-core,sox,espeak-ng}
BOOT_TIMEOUT=${IPCC_STACK_BOOT_TIMEOUT:-60}
MAX_SLOT=40
# Paths inside the root.
INSTANCES_IN_ROOT=/srv/ipcc
MARKER=.ipcc-stack-root

export DEBIAN_FRONTEND=noninteractive
BUILD_TMP=

say() { printf '[stack] %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

on_exit() {
  if [[ -n $BUILD_TMP ]]; then
    say "removing the incomplete root $BUILD_TMP"
    remove_tree "$BUILD_TMP" || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- small tools ---------------------------------------------------------------------------

# lock FD FILE [TIMEOUT_S]: take an exclusive lock on FILE through file descriptor FD.
lock() {
  local fd=$1 file=$2 wait_s=${3:-600}
  mkdir -p "$(dirname "$file")"
  eval "exec $fd>\"\$file\""
  flock -w "$wait_s" "$fd" || die "timed out after ${wait_s}s waiting for the lock $file"
}
unlock() { eval "exec $1>&-"; }

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

ensure_host_tool() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  say "installing $pkg on the host"
  apt-get install -y -q "$pkg" >&2 || { apt-get update -q >&2 && apt-get install -y -q "$pkg" >&2; }
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is still missing after installing $pkg"
}

# The Debian mirror, read from the host's apt sources at run time.
read_mirror() {
  if [[ -n ${IPCC_STACK_MIRROR:-} ]]; then
    printf '%s\n' "$IPCC_STACK_MIRROR"
    return
  fi
  local uri=''
  shopt -s nullglob
  local files=(/etc/apt/sources.list.d/*.sources)
  shopt -u nullglob
  if ((${#files[@]})); then
    # deb822 stanzas: the first URI of the first stanza that is not a security suite.
    uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
      {
        u = ""; s = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); u = a[1] }
          if ($i ~ /^Suites:/) { s = $i }
        }
        if (u != "" && s !~ /-security/) { print u; exit }
      }' "${files[@]}")
  fi
  if [[ -z $uri && -f /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" && $0 !~ /-security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  [[ -n $uri ]] || die "no Debian mirror found in the apt sources; set IPCC_STACK_MIRROR"
  printf '%s\n' "$uri"
}

# Unmount everything mounted at or below DIR, deepest first.
unmount_tree() {
  local dir=$1 m
  while read -r m; do
    if [[ -n $m ]]; then umount -l "$m" 2>/dev/null || true; fi
  done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r)
}

remove_tree() {
  local dir=$1
  [[ -e $dir ]] || return 0
  unmount_tree "$dir"
  if awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    die "refusing to delete $dir: something is still mounted below it"
  fi
  rm -rf --one-file-system "$dir"
}

# Kill processes whose root directory is DIR (maintainer scripts of a root being built).
kill_processes_rooted_in() {
  local dir=$1 p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    if [[ $r == "$dir" ]]; then
      say "stopping process ${p#/proc/} left behind in $dir"
      kill -9 "${p#/proc/}" 2>/dev/null || true
    fi
  done
}

# --- MariaDB and Redis ---------------------------------------------------------------------

redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    local reply
    reply=$(timeout 3 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) || return 1
    [[ $reply == PONG ]]
  else
    tcp_open 127.0.0.1 6379
  fi
}

mariadb_answers() {
  if command -v mysqladmin >/dev/null 2>&1; then
    timeout 3 mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1
  else
    tcp_open 127.0.0.1 3306
  fi
}

wait_for() {
  local what=$1 check=$2 wait_s=$3 deadline=$((SECONDS + $3))
  until "$check"; do
    ((SECONDS < deadline)) || die "$what did not answer within ${wait_s}s"
    sleep 0.5
  done
}

ensure_deps() {
  [[ ${IPCC_STACK_SKIP_DEPS:-0} == 1 ]] && return 0
  if ! redis_answers; then
    command -v redis-server >/dev/null 2>&1 || die "Redis does not answer on 127.0.0.1:6379 and redis-server is not installed"
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >&2
    wait_for Redis redis_answers 15
  fi
  if ! mariadb_answers; then
    [[ -x /usr/sbin/mariadbd ]] || die "MariaDB does not answer on 127.0.0.1:3306 and /usr/sbin/mariadbd is not installed"
    say "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >&2
    wait_for MariaDB mariadb_answers 60
  fi
}

# --- the sid root --------------------------------------------------------------------------

desired_marker() {
  printf 'suite=%s\npackages=%s\n' "$SUITE" "$(tr ',' '\n' <<<"$PACKAGES" | sed '/^$/d' | sort -u | paste -sd, -)"
}

root_is_current() {
  [[ -f $ROOT/$MARKER ]] && [[ "$(cat "$ROOT/$MARKER")" == "$(desired_marker)" ]]
}

# Packages the desired set adds to the current root's, one per line; fails when the suite
# differs or a package was dropped (those need a full rebuild).
added_packages() {
  [[ -f $ROOT/$MARKER ]] || return 1
  local have want
  [[ "$(sed -n 's/^suite=//p' "$ROOT/$MARKER")" == "$SUITE" ]] || return 1
  have=$(sed -n 's/^packages=//p' "$ROOT/$MARKER" | tr ',' '\n' | sed '/^$/d' | sort -u)
  want=$(tr ',' '\n' <<<"$PACKAGES" | sed '/^$/d' | sort -u)
  [[ -z $(comm -23 <(printf '%s\n' "$have") <(printf '%s\n' "$want")) ]] || return 1
  comm -13 <(printf '%s\n' "$have") <(printf '%s\n' "$want")
}

# A root that only lacks some packages gets them with apt inside it, even while instances run
# from it (adding a tool such as espeak-ng does not disturb a running Asterisk).
extend_root_locked() {
  local added
  added=$(added_packages) || return 1
  [[ -n $added ]] || return 1
  say "adding to the root: $(paste -sd' ' <<<"$added")"
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  # shellcheck disable=SC2086
  chroot "$ROOT" sh -c "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $(paste -sd' ' <<<"$added")" >&2 || return 1
  desired_marker >"$ROOT/$MARKER"
}

# Roots of interrupted builds or replacements. Called with the build lock held, so nothing
# is building them right now.
remove_leftovers() {
  local stale
  for stale in "$ROOT".tmp.* "$ROOT".old.*; do
    [[ -e $stale ]] || continue
    say "removing the leftover $stale"
    remove_tree "$stale"
  done
}

# Called with the build lock (fd 8) held.
build_root_locked() {
  local force=$1
  if [[ $force != 1 ]] && root_is_current; then
    say "root $ROOT is current"
    return 0
  fi
  local running
  running=$(running_instances)
  [[ -z $running ]] || die "instances still run from the old root ($running); run: stack.sh down --all"

  ensure_host_tool debootstrap debootstrap
  local mirror parent started=$SECONDS
  mirror=$(read_mirror)
  parent=$(dirname "$ROOT")
  mkdir -p "$parent"
  remove_leftovers

  BUILD_TMP=$(mktemp -d "$ROOT.tmp.XXXXXX")
  say "building a $SUITE root in $BUILD_TMP (packages: $PACKAGES)"
  # Two stages so that a policy-rc.d is in place before any maintainer script runs:
  # no package may start a daemon (e.g. Asterisk with Debian's sample config) in the root.
  debootstrap --foreign --variant=minbase --include="$PACKAGES" "$SUITE" "$BUILD_TMP" "$mirror" >&2
  printf '#!/bin/sh\nexit 101\n' >"$BUILD_TMP/usr/sbin/policy-rc.d"
  chmod 755 "$BUILD_TMP/usr/sbin/policy-rc.d"
  chroot "$BUILD_TMP" /debootstrap/debootstrap --second-stage >&2
  # The suite's Release file may be past its Valid-Until on a snapshot mirror.
  printf 'Acquire::Check-Valid-Until "false";\n' >"$BUILD_TMP/etc/apt/apt.conf.d/99ipcc-stack"
  mkdir -p "$BUILD_TMP$INSTANCES_IN_ROOT"
  chroot "$BUILD_TMP" asterisk -V >/dev/null || die "asterisk does not run inside the new root"
  chroot "$BUILD_TMP" sipp -v >/dev/null 2>&1 || chroot "$BUILD_TMP" sh -c 'command -v sipp' >/dev/null ||
    die "sipp is missing from the new root"
  kill_processes_rooted_in "$BUILD_TMP"
  unmount_tree "$BUILD_TMP"
  desired_marker >"$BUILD_TMP/$MARKER"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$BUILD_TMP/.ipcc-stack-built"

  local old=''
  if [[ -e $ROOT ]]; then
    old=$ROOT.old.$$
    unmount_tree "$ROOT"
    mv "$ROOT" "$old"
  fi
  mv "$BUILD_TMP" "$ROOT"
  BUILD_TMP=
  [[ -z $old ]] || remove_tree "$old"
  say "root ready in $((SECONDS - started))s: $ROOT ($(du -sh "$ROOT" 2>/dev/null | cut -f1))"
}

cmd_build_root() {
  local force=0
  while (($#)); do
    case $1 in
      --force) force=1 ;;
      *) die "build-root: unknown argument $1" ;;
    esac
    shift
  done
  lock 8 "$STACK_DIR/.build.lock" 1800
  build_root_locked "$force"
  unlock 8
}

# Build the root if needed and mount /proc in it (Asterisk reads it).
ensure_root() {
  lock 8 "$STACK_DIR/.build.lock" 1800
  root_is_current || extend_root_locked || build_root_locked 0
  remove_leftovers
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  hosts_know_hostname
  unlock 8
}

# Asterisk looks up the machine's own host name, and then A.ROOT-SERVERS.NET (to learn its own
# address), for every media session when RTP is bound to the wildcard address. Unknown to the
# root's /etc/hosts, each lookup goes to DNS, and on a closed network those time out on the SIP
# thread: calls stall for seconds under load. This root only serves loopback tests: name both on
# loopback.
hosts_know_hostname() {
  local name
  for name in "$(hostname 2>/dev/null || true)" A.ROOT-SERVERS.NET; do
    [[ -n $name ]] || continue
    if ! grep -qiE "^[^#]*[[:space:]]$name([[:space:]]|\$)" "$ROOT/etc/hosts" 2>/dev/null; then
      printf '127.0.1.1\t%s\n' "$name" >>"$ROOT/etc/hosts"
      say "named $name in the root's /etc/hosts"
    fi
  done
}

# --- instances -----------------------------------------------------------------------------

valid_name() { [[ $1 =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad instance name '$1' (lowercase letters, digits, dashes)"; }
host_dir() { printf '%s/instances/%s' "$STACK_DIR" "$1"; }
root_rel_dir() { printf '%s/%s' "$INSTANCES_IN_ROOT" "$1"; }
conf_rel() { printf '%s/etc/asterisk.conf' "$(root_rel_dir "$1")"; }

# Print the pid of a running instance, or fail.
running_pid() {
  local name=$1 pid_file pid
  pid_file=$(host_dir "$name")/pid
  [[ -f $pid_file ]] || return 1
  pid=$(<"$pid_file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  # The pid must still be our Asterisk for this instance, not a reused number.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-C $(conf_rel "$name")" || return 1
  printf '%s\n' "$pid"
}

all_instances() {
  local d
  shopt -s nullglob
  for d in "$STACK_DIR"/instances/*/; do
    d=${d%/}
    printf '%s\n' "${d##*/}"
  done
  shopt -u nullglob
}

running_instances() {
  local n out=()
  while read -r n; do
    [[ -n $n ]] || continue
    running_pid "$n" >/dev/null && out+=("$n")
  done < <(all_instances)
  printf '%s' "${out[*]:-}"
}

# Give an instance a slot (main: 0; others: the lowest free slot 1..MAX_SLOT).
ensure_slot() {
  local name=$1 dir slot_file
  dir=$(host_dir "$name")
  slot_file=$dir/slot
  [[ -f $slot_file ]] && return 0
  lock 7 "$STACK_DIR/.slots.lock" 60
  mkdir -p "$dir"
  if [[ ! -f $slot_file ]]; then
    local slot used n s
    if [[ $name == main ]]; then
      slot=0
    else
      used=' '
      while read -r n; do
        [[ -f $(host_dir "$n")/slot ]] || continue
        s=$(<"$(host_dir "$n")/slot")
        used+="$s "
      done < <(all_instances)
      slot=''
      for ((s = 1; s <= MAX_SLOT; s++)); do
        if [[ $used != *" $s "* ]]; then
          slot=$s
          break
        fi
      done
      [[ -n $slot ]] || die "all $MAX_SLOT instance slots are taken; run: stack.sh prune"
    fi
    printf '%s\n' "$slot" >"$slot_file"
  fi
  unlock 7
}

env_get() { # FILE KEY
  [[ -f $1 ]] || return 0
  sed -n "s/^$2=//p" "$1" | tail -n 1
}

# Compute the effective settings of an instance and write its env file.
write_env() {
  local name=$1 dir env_file slot
  dir=$(host_dir "$name")
  env_file=$dir/env
  slot=$(<"$dir/slot")
  local d_ari d_sip d_rtp_start d_rtp_end
  if ((slot == 0)); then
    d_ari=8088 d_sip=5060 d_rtp_start=10000 d_rtp_end=19999
  else
    d_ari=$((8088 + slot)) d_sip=$((5060 + 2 * slot))
    d_rtp_start=$((20000 + 1000 * (slot - 1))) d_rtp_end=$((20000 + 1000 * (slot - 1) + 999))
  fi
  # Precedence: explicit IPCC_STACK_* > the instance's saved settings > slot defaults.
  local ari_port sip_port rtp_start rtp_end ari_user ari_password ari_app test_ip
  ari_port=${IPCC_STACK_ARI_PORT:-$(env_get "$env_file" IPCC_ARI_PORT)}
  sip_port=${IPCC_STACK_SIP_PORT:-$(env_get "$env_file" IPCC_SIP_PORT)}
  rtp_start=${IPCC_STACK_RTP_START:-$(env_get "$env_file" IPCC_RTP_START)}
  rtp_end=${IPCC_STACK_RTP_END:-$(env_get "$env_file" IPCC_RTP_END)}
  ari_user=${IPCC_STACK_ARI_USER:-$(env_get "$env_file" IPCC_ARI_USER)}
  ari_password=${IPCC_STACK_ARI_PASSWORD:-$(env_get "$env_file" IPCC_ARI_PASSWORD)}
  ari_app=${IPCC_STACK_ARI_APP:-$(env_get "$env_file" IPCC_ARI_APP)}
  test_ip=${IPCC_STACK_TEST_CALLER_IP:-$(env_get "$env_file" IPCC_TEST_CALLER_IP)}
  local rel
  rel=$(root_rel_dir "$name")
  local tmp_env=$env_file.tmp.$$
  cat >"$tmp_env" <<EOF
IPCC_INSTANCE=$name
IPCC_INSTANCE_SLOT=$slot
IPCC_STACK_ROOT=$ROOT
IPCC_INSTANCE_DIR=$ROOT$rel
IPCC_ASTERISK_CONF=$rel/etc/asterisk.conf
IPCC_ARI_URL=http://127.0.0.1:${ari_port:-$d_ari}
IPCC_ARI_PORT=${ari_port:-$d_ari}
IPCC_ARI_USER=${ari_user:-ipcc}
IPCC_ARI_PASSWORD=${ari_password:-ipcc-dev-$name}
IPCC_ARI_APP=${ari_app:-ipcc}
IPCC_SIP_HOST=127.0.0.1
IPCC_SIP_PORT=${sip_port:-$d_sip}
IPCC_RTP_START=${rtp_start:-$d_rtp_start}
IPCC_RTP_END=${rtp_end:-$d_rtp_end}
IPCC_TEST_CALLER_IP=${test_ip:-127.0.0.2}
EOF
  # The same server in the form the IPCC server's config reads (NAME=URL with credentials).
  printf 'IPCC_ASTERISK_SERVERS=%s=http://%s:%s@127.0.0.1:%s\n' "$name" "$(urlencode "${ari_user:-ipcc}")" \
    "$(urlencode "${ari_password:-ipcc-dev-$name}")" "${ari_port:-$d_ari}" >>"$tmp_env"
  mv "$tmp_env" "$env_file"
}

urlencode() {
  local s=$1 encoded='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) encoded+=$c ;;
      *) encoded+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$encoded"
}

# Render our Asterisk config for an instance into its etc directory inside the root.
render_config() {
  local name=$1 env_file rel
  env_file=$(host_dir "$name")/env
  rel=$(root_rel_dir "$name")
  (
    set -a
    # shellcheck disable=SC1090
    . "$env_file"
    set +a
    export IPCC_AST_ETC_DIR=$rel/etc IPCC_AST_RUN_DIR=$rel/run IPCC_AST_SPOOL_DIR=$rel/spool
    export IPCC_AST_LIB_DIR=$rel/lib IPCC_AST_LOG_DIR=$rel/log IPCC_AST_CACHE_DIR=$rel/cache
    export IPCC_ARI_BIND=127.0.0.1 IPCC_SIP_BIND=127.0.0.1
    "$TEMPLATE_DIR/render.sh" "$ROOT$rel/etc"
  )
}

config_digest() { # DIR
  (cd "$1" 2>/dev/null && find . -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum) || true
}

ari_info() { # ENV_FILE
  local url user password
  url=$(env_get "$1" IPCC_ARI_URL)
  user=$(env_get "$1" IPCC_ARI_USER)
  password=$(env_get "$1" IPCC_ARI_PASSWORD)
  # Credentials go through stdin, never the command line.
  printf 'user = "%s:%s"\n' "$user" "$password" |
    curl -fsS --max-time 2 -K - "$url/ari/asterisk/info" 2>/dev/null
}

port_busy() { # PROTO(t|u) PORT
  [[ -n "$(ss -Hln"$1" "sport = :$2" 2>/dev/null)" ]]
}

asterisk_rx() { # NAME COMMAND [TIMEOUT_S]
  timeout "${3:-30}" chroot "$ROOT" /usr/sbin/asterisk -C "$(conf_rel "$1")" -rx "$2"
}

start_instance_locked() {
  local name=$1 dir env_file rel pid
  dir=$(host_dir "$name")
  env_file=$dir/env
  rel=$(root_rel_dir "$name")

  if pid=$(running_pid "$name"); then
    local deadline=$((SECONDS + BOOT_TIMEOUT))
    until ari_info "$env_file" >/dev/null; do
      ((SECONDS < deadline)) || die "instance $name runs (pid $pid) but ARI does not answer; see: stack.sh logs --instance $name"
      sleep 0.5
    done
    # A running instance picks up changed templates: render again and reload if anything changed.
    local before after
    before=$(config_digest "$ROOT$rel/etc")
    render_config "$name"
    after=$(config_digest "$ROOT$rel/etc")
    if [[ $before != "$after" ]]; then
      say "configuration of $name changed; reloading"
      asterisk_rx "$name" 'core reload' >/dev/null || say "warning: core reload of $name failed"
    fi
    say "instance $name is up (pid $pid, $(env_get "$env_file" IPCC_ARI_URL))"
    return 0
  fi

  local ari_port sip_port
  ari_port=$(env_get "$env_file" IPCC_ARI_PORT)
  sip_port=$(env_get "$env_file" IPCC_SIP_PORT)
  ! port_busy t "$ari_port" || die "TCP port $ari_port (ARI of $name) is taken by another process"
  ! port_busy u "$sip_port" || die "UDP port $sip_port (SIP of $name) is taken by another process"

  mkdir -p "$ROOT$rel"/{etc,run,lib/keys,log,cache} "$ROOT$rel"/spool/{recording,outgoing,tmp}
  render_config "$name"

  local console_log=$ROOT$rel/log/console.log
  say "starting Asterisk instance $name"
  # setsid: the instance outlives this script; fds 7-9 (locks) must not be inherited.
  (cd / && exec setsid chroot "$ROOT" /usr/sbin/asterisk -C "$rel/etc/asterisk.conf" -f -U root -n \
    >>"$console_log" 2>&1 </dev/null 7>&- 8>&- 9>&-) &
  pid=$!
  printf '%s\n' "$pid" >"$dir/pid"

  local deadline=$((SECONDS + BOOT_TIMEOUT)) started=$SECONDS
  until ari_info "$env_file" >/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$console_log" "$ROOT$rel/log/messages.log" >&2 2>/dev/null || true
      rm -f "$dir/pid"
      die "Asterisk instance $name exited during start-up"
    fi
    ((SECONDS < deadline)) || die "Asterisk instance $name did not answer ARI within ${BOOT_TIMEOUT}s"
    sleep 0.2
  done
  asterisk_rx "$name" 'core waitfullybooted' "$BOOT_TIMEOUT" >/dev/null ||
    die "Asterisk instance $name did not finish booting"
  say "instance $name is up in $((SECONDS - started))s (pid $pid, ARI $(env_get "$env_file" IPCC_ARI_URL), SIP udp 127.0.0.1:$sip_port)"
}

stop_instance_locked() {
  local name=$1 pid
  if ! pid=$(running_pid "$name"); then
    rm -f "$(host_dir "$name")/pid"
    say "instance $name is not running"
    return 0
  fi
  say "stopping Asterisk instance $name (pid $pid)"
  asterisk_rx "$name" 'core stop now' 10 >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(host_dir "$name")/pid"
  say "instance $name stopped"
}

parse_instance_arg() { # sets INSTANCE and ALL, leaves the rest in REST
  INSTANCE=main ALL=0 FOLLOW=0 LINES_N=200 REST=()
  while (($#)); do
    case $1 in
      --instance | -i)
        [[ $# -ge 2 ]] || die "--instance needs a name"
        INSTANCE=$2
        shift
        ;;
      --instance=*) INSTANCE=${1#--instance=} ;;
      --all) ALL=1 ;;
      --follow | -f) FOLLOW=1 ;;
      --lines)
        [[ $# -ge 2 ]] || die "--lines needs a number"
        LINES_N=$2
        shift
        ;;
      *) REST+=("$1") ;;
    esac
    shift
  done
  valid_name "$INSTANCE"
}

cmd_up() {
  parse_instance_arg "$@"
  ((${#REST[@]} == 0)) || die "up: unknown argument ${REST[0]}"
  ensure_deps
  ensure_root
  ensure_slot "$INSTANCE"
  lock 9 "$(host_dir "$INSTANCE")/.lock" 120
  write_env "$INSTANCE"
  start_instance_locked "$INSTANCE"
  unlock 9
  printf '%s\n' "$(host_dir "$INSTANCE")/env"
}

cmd_down() {
  parse_instance_arg "$@"
  ((${#REST[@]} == 0)) || die "down: unknown argument ${REST[0]}"
  local names=("$INSTANCE") n
  if ((ALL)); then mapfile -t names < <(all_instances); fi
  for n in "${names[@]}"; do
    [[ -d $(host_dir "$n") ]] || continue
    lock 9 "$(host_dir "$n")/.lock" 120
    stop_instance_locked "$n"
    unlock 9
  done
}

destroy_instance() {
  local n=$1
  [[ -d $(host_dir "$n") ]] || return 0
  lock 9 "$(host_dir "$n")/.lock" 120
  stop_instance_locked "$n"
  remove_tree "$ROOT$(root_rel_dir "$n")"
  unlock 9
  lock 7 "$STACK_DIR/.slots.lock" 60
  rm -rf "$(host_dir "$n")"
  unlock 7
  say "instance $n destroyed"
}

cmd_destroy() {
  parse_instance_arg "$@"
  ((${#REST[@]} == 0)) || die "destroy: unknown argument ${REST[0]}"
  destroy_instance "$INSTANCE"
}

cmd_prune() {
  local n
  while read -r n; do
    [[ -n $n && $n != main ]] || continue
    running_pid "$n" >/dev/null || destroy_instance "$n"
  done < <(all_instances)
}

cmd_status() {
  if [[ -f $ROOT/$MARKER ]]; then
    printf 'root      %s (built %s, %s)\n' "$ROOT" "$(cat "$ROOT/.ipcc-stack-built" 2>/dev/null || echo '?')" \
      "$(root_is_current && echo current || echo 'STALE: package set changed')"
  else
    printf 'root      %s (not built)\n' "$ROOT"
  fi
  printf 'redis     %s\n' "$(redis_answers && echo up || echo DOWN)"
  printf 'mariadb   %s\n' "$(mariadb_answers && echo up || echo DOWN)"
  local n pid env_file health
  while read -r n; do
    [[ -n $n ]] || continue
    env_file=$(host_dir "$n")/env
    if pid=$(running_pid "$n"); then
      health=$(ari_info "$env_file" >/dev/null && echo 'ARI answers' || echo 'ARI DOES NOT ANSWER')
      printf 'instance  %-24s up (pid %s), %s, ARI %s, SIP udp 127.0.0.1:%s\n' "$n" "$pid" "$health" \
        "$(env_get "$env_file" IPCC_ARI_URL)" "$(env_get "$env_file" IPCC_SIP_PORT)"
    else
      printf 'instance  %-24s down, ARI %s, SIP udp 127.0.0.1:%s\n' "$n" \
        "$(env_get "$env_file" IPCC_ARI_URL)" "$(env_get "$env_file" IPCC_SIP_PORT)"
    fi
  done < <(all_instances)
}

cmd_cli() {
  parse_instance_arg "$@"
  ((${#REST[@]} == 1)) || die "cli: give exactly one command in quotes, e.g. cli 'core show channels'"
  running_pid "$INSTANCE" >/dev/null || die "instance $INSTANCE is not running"
  asterisk_rx "$INSTANCE" "${REST[0]}" 30
}

cmd_logs() {
  parse_instance_arg "$@"
  local dir
  dir=$ROOT$(root_rel_dir "$INSTANCE")/log
  [[ -d $dir ]] || die "no logs for instance $INSTANCE"
  local files=()
  [[ -f $dir/console.log ]] && files+=("$dir/console.log")
  [[ -f $dir/messages.log ]] && files+=("$dir/messages.log")
  ((${#files[@]})) || die "no log files in $dir yet"
  if ((FOLLOW)); then
    exec tail -n "$LINES_N" -F "${files[@]}"
  fi
  tail -n "$LINES_N" "${files[@]}"
}

cmd_env() {
  parse_instance_arg "$@"
  local f
  f=$(host_dir "$INSTANCE")/env
  [[ -f $f ]] || die "instance $INSTANCE has no env file yet; run: stack.sh up --instance $INSTANCE"
  cat "$f"
}

cmd_run() {
  [[ ${1:-} == -- ]] && shift
  (($#)) || die "run: give a command, e.g. run -- sipp -v"
  [[ -f $ROOT/$MARKER ]] || die "the root is not built; run: stack.sh build-root"
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  exec chroot "$ROOT" "$@"
}

main() {
  [[ $(id -u) == 0 ]] || die "run as root (debootstrap, chroot and mount need it)"
  local cmd=${1:-}
  (($#)) && shift
  mkdir -p "$STACK_DIR/instances"
  case $cmd in
    build-root) cmd_build_root "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    destroy) cmd_destroy "$@" ;;
    prune) cmd_prune "$@" ;;
    status) cmd_status "$@" ;;
    cli) cmd_cli "$@" ;;
    logs) cmd_logs "$@" ;;
    env) cmd_env "$@" ;;
    run) cmd_run "$@" ;;
    *)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
      [[ -z $cmd || $cmd == help || $cmd == -h || $cmd == --help ]] || die "unknown command: $cmd"
      ;;
  esac
}

main "$@"
