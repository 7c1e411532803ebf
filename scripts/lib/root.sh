# Sourced by the scripts that need root (apt installs, real cgroups). As root it does nothing;
# otherwise it runs the script again with sudo, or stops with one line when there is no sudo.
#   . "$(dirname "$0")/lib/root.sh" && become_root "$0" "$@"
become_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -- "$@"
  fi
  echo "scripts/$(basename "$1"): run it as root (there is no sudo here to do it)." >&2
  exit 1
}
