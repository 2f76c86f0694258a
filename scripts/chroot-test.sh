#!/usr/bin/env bash
# chroot-test.sh — run the project's whole test suite under the CPythons that
# newer Debian releases ship: trixie (CPython 3.13) and sid (CPython 3.14).
#
# Our machines run Debian 12 with CPython 3.11, but we claim 3.9–3.14, and the
# parts most likely to break across versions (frame-evaluation hook, code
# extras, frame accessors, perf trampolines) are at our core. This script gives
# each newer interpreter a Debian chroot, copies the project into it at /src
# and runs the project's own test targets there, `make -C /src test-c
# test-python` (which make their own virtual environment with the chroot's
# python3, install the project and its test dependencies from PyPI, and run
# the C tests and pytest; the sanitizer builds run once, on the host). It is
# used by .ci/run and by hand. It needs root (chroot, mount).
#
# Usage:
#   scripts/chroot-test.sh [options] [trixie|sid ...]    (default: trixie sid)
#   scripts/chroot-test.sh --shell SUITE                  interactive shell inside
#   scripts/chroot-test.sh --delete [trixie|sid ...]      unmount and remove chroots
#
# Options:
#   --worktree      copy the working tree (uncommitted and untracked files
#                   included; .git, .venv*, build/, .cache/ and __pycache__
#                   left out) instead of the committed tree (`git archive HEAD`)
#   --src DIR       project tree to copy (default: the repository this script
#                   lives in). A git repository is copied as its HEAD unless
#                   --worktree is given; any other directory as it stands.
#   --cmd 'CMD'     run CMD (bash, in /src) instead of `make -C /src test-c test-python`
#   --with-perf     install Debian's linux-perf inside (once per chroot) and
#                   mount /proc and /sys for the run, so tests can run `perf`
#                   (a chroot that already has perf gets the mounts anyway)
#   --keep          leave /src (tree, .venv, build) in the chroot after a
#                   passing run; after a failing run it is always left, for
#                   `--shell`. The next run replaces it either way.
#   --rebuild       delete and recreate the chroots before running
#   -h, --help      show this help
#
# Environment:
#   CHROOT_DIR           where chroots live (default /var/tmp/pytrace-chroots);
#                        one directory per suite, kept and reused across runs
#   CHROOT_MAX_AGE_DAYS  rebuild a chroot older than this (default 14; 0 = never),
#                        so sid keeps tracking what sid ships
#   DEBIAN_MIRROR        Debian mirror URL for debootstrap (default: the first
#                        Debian mirror found in the host's apt sources that
#                        serves the suite)
#   CI                   passed through into the chroot
#
# A chroot is complete once its marker file (.pytrace-chroot-complete) exists;
# a directory without it is a half-made chroot and is rebuilt. Nothing is
# mounted while building or testing unless --with-perf or --shell asks for
# /proc and /sys; those mounts are undone on exit, and chroots are only ever
# deleted after unmounting and with `rm -rf --one-file-system`.
# pip's cache (/root/.cache/pip) stays in the chroot across runs: wheels pip
# built from sdists are reused; downloads are cached only when the HTTP
# caching headers reach pip (an egress proxy may strip them).
#
# Output: a banner per suite naming its interpreter, timings per stage, and a
# closing table "suite python result seconds". Exit status 0 when every suite
# passed, 1 when any failed, 2 for a usage error.

set -euo pipefail

readonly ALL_SUITES=(trixie sid)
# What every chroot gets; changing this list makes existing chroots rebuild.
readonly PACKAGES=python3,python3-dev,python3-venv,gcc,libc6-dev,make,git,ca-certificates
readonly MARKER=.pytrace-chroot-complete
readonly INNER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

CHROOT_DIR=${CHROOT_DIR:-/var/tmp/pytrace-chroots}
CHROOT_MAX_AGE_DAYS=${CHROOT_MAX_AGE_DAYS:-14}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

log() { printf '[chroot-test] %s\n' "$*" >&2; }
die() { printf 'chroot-test: %s\n' "$*" >&2; exit 2; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- mounts

# Every mount this script made, undone in reverse order on exit.
MOUNTED=()

mount_api_filesystems() {   # DIR: mount /proc and /sys inside the chroot DIR
    local dir=$1
    if ! mountpoint -q "$dir/proc"; then
        mount -t proc proc "$dir/proc"
        MOUNTED+=("$dir/proc")
    fi
    if ! mountpoint -q "$dir/sys"; then
        mount -t sysfs sysfs "$dir/sys"
        MOUNTED+=("$dir/sys")
    fi
}

unmount_ours() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" || true
    done
    MOUNTED=()
}

# Unmount everything below DIR, ours or left behind by an interrupted
# debootstrap, deepest first.
unmount_all_under() {
    local dir=$1 target
    [[ -d $dir ]] || return 0
    dir=$(realpath "$dir")
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
        while read -r target; do
            umount "$target" 2>/dev/null || umount -l "$target"
        done
}

delete_chroot() {   # DIR
    local dir=$1
    [[ -e $dir ]] || return 0
    unmount_all_under "$dir"
    rm -rf --one-file-system -- "$dir"
}

trap unmount_ours EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- host setup

ensure_debootstrap() {
    command -v debootstrap >/dev/null && return 0
    log "installing debootstrap on the host"
    # An image may ship without package lists; fetch them once if so.
    if ! apt-get install -y -qq debootstrap >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq debootstrap >/dev/null
    fi
}

# Print "URI SUITE" for every enabled `deb` entry in the host's apt sources,
# one-line (.list) and deb822 (.sources) formats alike.
apt_source_entries() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        awk '$1 == "deb" {
                 i = 2
                 if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                 print $i, $(i + 1)
             }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             {
                 types = ""; uris = ""; suites = ""; enabled = "yes"
                 for (i = 1; i <= NF; i++) {
                     line = $i
                     if (line ~ /^[ \t]*#/) continue
                     key = tolower(line); sub(/:.*/, "", key)
                     val = line; sub(/^[^:]*:[ \t]*/, "", val)
                     if (key == "types") types = val
                     else if (key == "uris") uris = val
                     else if (key == "suites") suites = val
                     else if (key == "enabled") enabled = tolower(val)
                 }
                 if (enabled == "no" || (" " types " ") !~ / deb /) next
                 n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
                 for (a = 1; a <= n; a++) for (b = 1; b <= m; b++)
                     if (u[a] != "" && s[b] != "") print u[a], s[b]
             }' "$f"
    done
}

# Print a Debian mirror URL that serves SUITE: $DEBIAN_MIRROR if set, else the
# first mirror in the host's apt sources whose dists/SUITE/Release answers.
# Security and ports archives are skipped: they do not carry the suites.
find_mirror() {   # SUITE
    local suite=$1 uri _suite tmp
    if [[ -n ${DEBIAN_MIRROR:-} ]]; then
        printf '%s\n' "${DEBIAN_MIRROR%/}"
        return 0
    fi
    tmp=$(mktemp)
    while read -r uri _suite; do
        case $uri in http://* | https://* | file:/*) ;; *) continue ;; esac
        case "$uri $_suite" in *security*) continue ;; esac
        uri=${uri%/}
        if /usr/lib/apt/apt-helper -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20 \
                download-file "$uri/dists/$suite/Release" "$tmp" >/dev/null 2>&1 &&
                grep -q '^Suite:' "$tmp"; then
            rm -f "$tmp"
            printf '%s\n' "$uri"
            return 0
        fi
    done < <(apt_source_entries | awk '!seen[$1]++')
    rm -f "$tmp"
    return 1
}

# ---------------------------------------------------------------- chroots

chroot_is_current() {   # DIR
    local dir=$1 marker=$1/$MARKER
    [[ -f $marker ]] || return 1
    grep -qxF "packages=$PACKAGES" "$marker" || { log "the package list changed since $dir was made"; return 1; }
    if ((CHROOT_MAX_AGE_DAYS > 0)) && [[ -n $(find "$marker" -mtime "+$CHROOT_MAX_AGE_DAYS") ]]; then
        log "$dir is older than $CHROOT_MAX_AGE_DAYS days"
        return 1
    fi
    return 0
}

create_chroot() {   # SUITE DIR
    local suite=$1 dir=$2 mirror
    ensure_debootstrap
    mirror=$(find_mirror "$suite") ||
        { log "no Debian mirror serving '$suite' found in /etc/apt/sources.list*; set DEBIAN_MIRROR=URL"; return 1; }
    delete_chroot "$dir" || { log "could not remove the old $dir (something still mounted inside?)"; return 1; }
    mkdir -p "$dir"
    log "debootstrap $suite from $mirror into $dir"
    if ! debootstrap --variant=minbase --include="$PACKAGES" "$suite" "$dir" "$mirror" \
            >"$dir.debootstrap.log" 2>&1; then
        tail -n 30 "$dir.debootstrap.log" >&2
        log "debootstrap failed (full log: $dir.debootstrap.log)"
        unmount_all_under "$dir"
        return 1
    fi
    chroot "$dir" apt-get clean
    printf 'suite=%s\nmirror=%s\npackages=%s\ncreated=%s\n' \
        "$suite" "$mirror" "$PACKAGES" "$(date -u +%FT%TZ)" >"$dir/$MARKER"
}

ensure_chroot() {   # SUITE DIR
    local suite=$1 dir=$2
    if ((rebuild)) || ! chroot_is_current "$dir"; then
        if ((rebuild)); then
            log "--rebuild: recreating $dir"
        elif [[ -e $dir ]]; then
            log "$dir is incomplete or stale: rebuilding"
        fi
        create_chroot "$suite" "$dir" || return 1
        chroot_stage_note="created"
    else
        chroot_stage_note="reused"
    fi
    # The host's resolver, fresh every run (the host's may change).
    rm -f "$dir/etc/resolv.conf"
    cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
    sync_host_cas "$dir"
}

# Make the chroot trust the CAs the host added locally. A host behind a
# TLS-intercepting egress proxy trusts a local CA that Debian's ca-certificates
# package lacks, and pip inside then fails with CERTIFICATE_VERIFY_FAILED.
# The host's local additions (certificates in its bundle that are not among
# its packaged ones) go to /usr/local/share/ca-certificates/pytrace-host/ in
# the chroot, the standard place for local CAs, and update-ca-certificates
# runs there when that set changed.
sync_host_cas() {   # DIR
    local dir=$1 host_bundle=/etc/ssl/certs/ca-certificates.crt
    local local_dir=$1/usr/local/share/ca-certificates/pytrace-host new
    [[ -r $host_bundle ]] || return 0
    new=$(mktemp -d)
    find /usr/share/ca-certificates -name '*.crt' -type f -exec cat {} + 2>/dev/null |
        awk -v out="$new" -v host="$host_bundle" '
            { sub(/\r$/, "") }
            /-----BEGIN CERTIFICATE-----/ { cert = ""; inside = 1 }
            inside { cert = cert $0 "\n" }
            /-----END CERTIFICATE-----/ {
                inside = 0
                if (FILENAME != host) packaged[cert] = 1
                else if (!(cert in packaged) && !(cert in written)) {
                    written[cert] = 1; f = sprintf("%s/host-%03d.crt", out, ++n)
                    printf "%s", cert > f; close(f)
                }
            }' - "$host_bundle"
    if ! diff -rq "$new" "$local_dir" >/dev/null 2>&1; then
        log "adding $(find "$new" -type f | wc -l) CA certificate(s) the host trusts to $dir"
        rm -rf -- "$local_dir"
        mkdir -p "$local_dir"
        cp "$new"/. "$local_dir"/ -r
        chroot "$dir" /usr/bin/env -i PATH="$INNER_PATH" update-ca-certificates >/dev/null 2>&1 ||
            log "update-ca-certificates failed in $dir; pip may not reach PyPI"
    fi
    rm -rf -- "$new"
}

ensure_perf() {   # DIR
    local dir=$1
    if inner "$dir" 'command -v perf' >/dev/null 2>&1; then
        return 0
    fi
    log "installing linux-perf in $dir"
    # This machine's Debian mirror may serve a frozen copy of the archive whose
    # Release files are past their Valid-Until date (debootstrap does not check
    # it, apt does); a throwaway test chroot can do without that check.
    printf 'Acquire::Check-Valid-Until "false";\n' >"$dir/etc/apt/apt.conf.d/99pytrace-no-valid-until"
    inner "$dir" 'apt-get update -qq && apt-get install -y -qq --no-install-recommends linux-perf >/dev/null && apt-get clean'
}

# Run bash -lc CMD inside chroot DIR with a clean environment.
inner() {   # DIR CMD
    local dir=$1 cmd=$2
    chroot "$dir" /usr/bin/env -i \
        PATH="$INNER_PATH" HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        CI="${CI:-}" PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-60}" \
        DEBIAN_FRONTEND=noninteractive \
        bash -lc "$cmd"
}

# ---------------------------------------------------------------- the tree

# Copy the project tree into DIR/src (replacing what a previous run left).
copy_tree() {   # DIR
    local dir=$1
    rm -rf --one-file-system -- "$dir/src"
    mkdir -p "$dir/src"
    if ((!worktree)) && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$src" archive --format=tar HEAD | tar -x -C "$dir/src"
    else
        tar -C "$src" -c --exclude=./.git --exclude='./.venv*' --exclude=./build \
            --exclude=./.cache --exclude='__pycache__' . | tar -x -C "$dir/src"
    fi
    # The tests read reference files from ../shared/data beside the tree.
    rm -rf --one-file-system -- "$dir/shared"
    if [[ -d $src/../shared/data ]]; then
        mkdir -p "$dir/shared"
        cp -r "$src/../shared/data" "$dir/shared/data"
    fi
}

describe_tree() {
    if ((!worktree)) && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        local head dirty=""
        head=$(git -C "$src" rev-parse --short HEAD)
        if [[ -n $(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
            dirty=" (uncommitted changes are NOT included; use --worktree to test them)"
        fi
        log "testing $src at HEAD $head$dirty"
    else
        log "testing the working tree of $src"
    fi
}

# ---------------------------------------------------------------- one suite

declare -A RESULT PYVER SECS

run_suite() {   # SUITE
    local suite=$1 dir=$CHROOT_DIR/$1 t0 t rc=0 lockfd version
    t0=$(now)
    RESULT[$suite]=setup-failed PYVER[$suite]='?' SECS[$suite]=0

    mkdir -p "$CHROOT_DIR"
    # One run per chroot at a time (CI and a developer may share a machine).
    exec {lockfd}>"$CHROOT_DIR/$suite.lock"
    flock -w 3600 "$lockfd" || { log "timed out waiting for $CHROOT_DIR/$suite.lock"; return 1; }

    t=$(now)
    if ! ensure_chroot "$suite" "$dir"; then
        SECS[$suite]=$(elapsed "$t0")
        exec {lockfd}>&-
        return 1
    fi
    log "$suite: chroot $chroot_stage_note in $(elapsed "$t") s"

    if ((with_perf)); then
        t=$(now)
        if ! ensure_perf "$dir"; then
            log "$suite: installing linux-perf failed"
            SECS[$suite]=$(elapsed "$t0")
            exec {lockfd}>&-
            return 1
        fi
        log "$suite: linux-perf ready in $(elapsed "$t") s"
    fi

    t=$(now)
    if ! copy_tree "$dir"; then
        log "$suite: copying $src into $dir/src failed"
        SECS[$suite]=$(elapsed "$t0")
        exec {lockfd}>&-
        return 1
    fi
    log "$suite: tree copied to $dir/src in $(elapsed "$t") s"

    version=$(inner "$dir" 'python3 --version' 2>&1 | head -n1) || version="python3 --version failed: $version"
    PYVER[$suite]=${version#Python }
    printf '\n%s\n== %s: %s\n== chroot %s\n== running in /src: %s\n%s\n\n' \
        "========================================================================" \
        "$suite" "$version" "$dir" "$test_cmd" \
        "========================================================================"

    # perf needs /proc and /sys. A chroot that got linux-perf in an earlier
    # --with-perf run keeps it, and tests that find `perf` on PATH would fail
    # without the mounts, so mount them whenever perf is there.
    local mounts=$with_perf
    if ((!mounts)) && [[ -e $dir/usr/bin/perf ]]; then
        log "$suite: linux-perf is installed in this chroot: mounting /proc and /sys as for --with-perf"
        mounts=1
    fi

    t=$(now)
    if ((mounts)); then
        mount_api_filesystems "$dir" || { log "$suite: mounting /proc and /sys failed"; unmount_ours; rc=1; }
    fi
    ((rc == 0)) && { inner "$dir" "cd /src && $test_cmd" || rc=$?; }
    unmount_ours
    log "$suite: test command exited $rc after $(elapsed "$t") s"

    if ((rc == 0)); then
        RESULT[$suite]=passed
        ((keep)) || rm -rf --one-file-system -- "$dir/src"
    else
        RESULT[$suite]="FAILED($rc)"
        log "$suite: /src left in place; look inside with: $0 --shell $suite"
    fi
    SECS[$suite]=$(elapsed "$t0")
    exec {lockfd}>&-
    ((rc == 0))
}

# ---------------------------------------------------------------- main

keep=0 worktree=0 with_perf=0 rebuild=0 mode=test shell_suite=""
src=""
test_cmd="make -C /src test-c test-python"
suites=()

while (($#)); do
    case $1 in
        --keep) keep=1 ;;
        --worktree) worktree=1 ;;
        --with-perf) with_perf=1 ;;
        --rebuild) rebuild=1 ;;
        --delete) mode=delete ;;
        --src) (($# >= 2)) || die "--src needs a directory"; src=$2; shift ;;
        --src=*) src=${1#--src=} ;;
        --cmd) (($# >= 2)) || die "--cmd needs a command"; test_cmd=$2; shift ;;
        --cmd=*) test_cmd=${1#--cmd=} ;;
        --shell) (($# >= 2)) || die "--shell needs a suite (trixie or sid)"; mode=shell; shell_suite=$2; shift ;;
        --shell=*) mode=shell; shell_suite=${1#--shell=} ;;
        -h | --help) usage; exit 0 ;;
        trixie | sid) suites+=("$1") ;;
        *) die "unknown argument '$1' (suites: ${ALL_SUITES[*]}; see --help)" ;;
    esac
    shift
done

((EUID == 0)) || die "must run as root (it uses debootstrap, chroot and mount)"
((${#suites[@]})) || suites=("${ALL_SUITES[@]}")

if [[ -z $src ]]; then
    src=$(git -C "$script_dir" rev-parse --show-toplevel 2>/dev/null || dirname "$script_dir")
fi
[[ -d $src ]] || die "--src '$src' is not a directory"
src=$(cd "$src" && pwd)

case $mode in
    delete)
        for suite in "${suites[@]}"; do
            log "deleting $CHROOT_DIR/$suite"
            delete_chroot "$CHROOT_DIR/$suite"
            rm -f "$CHROOT_DIR/$suite.debootstrap.log"
        done
        exit 0
        ;;
    shell)
        case $shell_suite in trixie | sid) ;; *) die "--shell takes trixie or sid, not '$shell_suite'" ;; esac
        dir=$CHROOT_DIR/$shell_suite
        ensure_chroot "$shell_suite" "$dir" || exit 1
        ((with_perf)) && { ensure_perf "$dir" || exit 1; }
        mount_api_filesystems "$dir"
        log "entering $dir (/proc and /sys mounted until you leave; /src is what the last run left)"
        rc=0
        chroot "$dir" /usr/bin/env -i PATH="$INNER_PATH" HOME=/root LANG=C.UTF-8 \
            TERM="${TERM:-dumb}" PS1="($shell_suite) \\w# " bash --norc -i || rc=$?
        exit "$rc"
        ;;
esac

describe_tree
failed=0
for suite in "${suites[@]}"; do
    run_suite "$suite" || failed=1
done

printf '\n%-8s %-10s %-14s %8s\n' suite python result seconds
for suite in "${suites[@]}"; do
    printf '%-8s %-10s %-14s %8s\n' "$suite" "${PYVER[$suite]}" "${RESULT[$suite]}" "${SECS[$suite]}"
done
if ((failed)); then
    printf 'chroot-test: FAILED on at least one suite\n'
    exit 1
fi
printf 'chroot-test: every suite passed (%s)\n' "${suites[*]}"
