# Shared by scripts/test and scripts/serve: create .venv and install the project into it.
# Source it from the repository root after setting repo_root.

venv_dir="$repo_root/.venv"
# The SHA-256 of pyproject.toml and the requirement installed last, to skip unchanged installs.
stamp_file="$venv_dir/.notekg-install-stamp"

create_venv() {
    if [ -x "$venv_dir/bin/python" ]; then
        return 0
    fi
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "python3 is $(python3 --version 2>&1), but notekg needs Python 3.11 or newer" >&2
        exit 1
    fi
    echo "creating virtualenv $venv_dir ..."
    python3 -m venv "$venv_dir"
}

install_python_packages() {
    local requirement="$1" wanted_hash
    wanted_hash="$( (cat pyproject.toml; echo "$requirement") | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$wanted_hash" ]; then
        return 0
    fi

    echo "installing Python packages (pip install -e '$requirement') ..."
    local log_file
    log_file="$(mktemp -t notekg-pip-XXXXXX.log)"
    if ! "$venv_dir/bin/python" -m pip install --disable-pip-version-check -e "$requirement" \
        >"$log_file" 2>&1 </dev/null; then
        echo "pip install failed, its output was:" >&2
        cat "$log_file" >&2
        rm -f "$log_file"
        exit 1
    fi
    rm -f "$log_file"
    echo "$wanted_hash" >"$stamp_file"
}

