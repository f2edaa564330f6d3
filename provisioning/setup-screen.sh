#!/bin/sh
# Set up a Debian screen computer for the Sunwall screen agent. Safe to run again:
# packages already present stay, the venv is reused, the project is upgraded in place.
#
#   sudo provisioning/setup-screen.sh [SOURCE]
#
# SOURCE is what pip installs: a Sunwall checkout or a built wheel (default: the checkout
# this script lives in). For a hall without internet, point pip at a folder of wheels:
#   sudo PIP_NO_INDEX=1 PIP_FIND_LINKS=/media/usb/wheels provisioning/setup-screen.sh /media/usb/wheels/sunwall-0.1.0-py3-none-any.whl
set -eu

PREFIX="${SUNWALL_PREFIX:-/opt/sunwall-kiosk}"
SOURCE="${1:-$(cd "$(dirname "$0")/.." && pwd)}"

if [ "$(id -u)" -ne 0 ]; then
    echo "run as root (sudo $0)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# Debian calls the browser "chromium"; older Raspberry Pi OS images call it "chromium-browser".
browser=chromium
if ! apt-cache show chromium >/dev/null 2>&1; then
    browser=chromium-browser
fi
apt-get install -y --no-install-recommends "$browser" fonts-noto-cjk python3-venv

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Sunwall needs Python 3.11 or newer; this system has $(python3 --version 2>&1)" >&2
    exit 1
fi

if [ ! -x "$PREFIX/venv/bin/python" ]; then
    mkdir -p "$PREFIX"
    python3 -m venv "$PREFIX/venv"
fi
"$PREFIX/venv/bin/pip" install --upgrade "$SOURCE"
"$PREFIX/venv/bin/sunwall" --help >/dev/null
ln -sf "$PREFIX/venv/bin/sunwall" /usr/local/bin/sunwall

echo
echo "Installed $PREFIX/venv/bin/sunwall (linked as /usr/local/bin/sunwall)."
echo "Next, as the user that runs the screen (docs/kiosk.md):"
echo "  sunwall kiosk --server https://YOUR-SERVER --code CODE   # code: admin UI, 屏幕 -> 注册码"
echo "  $browser --kiosk --autoplay-policy=no-user-gesture-required http://127.0.0.1:8765/"
