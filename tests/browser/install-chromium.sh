#!/usr/bin/env bash
# The browser tests' Chromium (tests/browser): Debian's chromium and chromium-driver.
# Installed with apt-get when it is missing and this runs as root where apt-get exists
# (CI, a container); otherwise it says how, and the browser tests skip (fail in CI, where
# AMQPBROKER_BROWSER_REQUIRED=1 and a password-less sudo serves too).
# Exit status: 0 when the browser is there, 1 when not.
set -u
CHROMIUM=${AMQPBROKER_CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${AMQPBROKER_CHROMEDRIVER:-/usr/bin/chromedriver}
PACKAGES="chromium chromium-driver"

present() { [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; }

# As root; in CI (AMQPBROKER_BROWSER_REQUIRED=1) also through sudo where it asks no password.
as_root=
if [ "$(id -u)" = 0 ]; then
    as_root=env
elif [ "${AMQPBROKER_BROWSER_REQUIRED:-}" = 1 ] && command -v sudo >/dev/null 2>&1; then
    as_root="sudo -n env"
fi

present && exit 0
if [ -n "$as_root" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing the browser tests' headless Chromium: apt-get install $PACKAGES"
    install() {
        $as_root DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            $PACKAGES >/dev/null
    }
    install || { $as_root DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && install; }
fi
present && exit 0
echo "!!! no headless Chromium ($CHROMIUM, $CHROMEDRIVER): the browser tests will be SKIPPED;"
echo "!!! install it with: sudo apt-get install $PACKAGES"
exit 1
