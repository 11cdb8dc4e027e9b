# Sourced by tools/test and tools/run-sample: installs what the project needs
# when it is missing, then sets PY to a Python that has the test packages.
#   - system packages through apt-get (root, or sudo when present);
#   - Python packages through pip into .build-python, a virtual environment
#     that also sees the system's site-packages (nothing is installed twice).

TXW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TXW_APT_UPDATED=0

txw_log() { printf '%s\n' "$*" >&2; }

txw_apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 && sudo="sudo" || {
            txw_log "txw: missing system packages: ${missing[*]} (install them as root with apt-get)"
            return 1
        }
    fi
    txw_log "txw: installing system packages: ${missing[*]}"
    if [ $TXW_APT_UPDATED -eq 0 ]; then
        $sudo apt-get update -qq >&2 || return 1
        TXW_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# txw_system_deps: the C libraries and tools the Swift build needs.
txw_system_deps() {
    txw_apt_install pkg-config libzstd-dev libxxhash-dev zlib1g-dev
}

# txw_cross_deps: what tools/ckernels/check needs to build the C kernels for
# arm64 and run them: Debian's arm64 C library headers, qemu's user-mode emulator.
txw_cross_deps() {
    txw_apt_install libc6-dev-arm64-cross qemu-user
}

# txw_python MODULE=PIP_NAME ...: sets PY to a Python where each module imports.
txw_python() {
    if ! command -v python3 >/dev/null 2>&1; then
        txw_apt_install python3 python3-venv python3-pip || return 1
    fi
    local venv="$TXW_ROOT/.build-python"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv --system-site-packages "$venv" >&2 2>/dev/null || {
            txw_apt_install python3-venv && python3 -m venv --system-site-packages "$venv" >&2
        } || return 1
    fi
    PY="$venv/bin/python"
    local need=()
    for spec in "$@"; do
        "$PY" -c "import ${spec%%=*}" >/dev/null 2>&1 || need+=("${spec#*=}")
    done
    if [ ${#need[@]} -gt 0 ]; then
        txw_log "txw: installing Python packages: ${need[*]}"
        "$PY" -m pip install -q --disable-pip-version-check "${need[@]}" >&2 || return 1
    fi
    export PY
}
