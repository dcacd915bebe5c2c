#!/usr/bin/env bash
# The browser tests' Chromium (tests/browser): Debian's chromium and chromium-driver.
# Installed with apt-get when it is missing and this runs as root where apt-get exists
# (CI, a container); otherwise it says how, and the browser tests skip (fail in CI, where
# AMQPBROKER_BROWSER_REQUIRED=1).  Exit status: 0 when the browser is there, 1 when not.
set -u
CHROMIUM=${AMQPBROKER_CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${AMQPBROKER_CHROMEDRIVER:-/usr/bin/chromedriver}
PACKAGES="chromium chromium-driver"

present() { [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; }

present && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing the browser tests' headless Chromium: apt-get install $PACKAGES"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null ||
        { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null; }
fi
present && exit 0
echo "!!! no headless Chromium ($CHROMIUM, $CHROMEDRIVER): the browser tests will be SKIPPED;"
echo "!!! install it with: sudo apt-get install $PACKAGES"
exit 1
