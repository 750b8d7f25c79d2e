#!/bin/sh
# Alertmanager's configuration from alertmanager.yml.tmpl and the environment, then the
# command given (docker-compose.yml: /bin/alertmanager and its flags). Plain sh and sed:
# it runs in the official busybox image as in a Debian one.
#
#   NOTIFIER_SMTP_HOST, NOTIFIER_SMTP_PORT, NOTIFIER_SMTP_USER, NOTIFIER_SMTP_PASSWORD,
#   NOTIFIER_SMTP_STARTTLS   the SMTP relay the notifier mails through (same defaults)
#   MB_ALERT_EMAIL_TO        who gets the alerts (comma-separated addresses)
#   MB_ALERT_EMAIL_FROM      the sender
#   ALERTMANAGER_TEMPLATE    default: alertmanager.yml.tmpl beside this script
#   ALERTMANAGER_CONFIG      where the result goes (default /tmp/alertmanager.yml)
set -eu

here=$(dirname "$0")
template=${ALERTMANAGER_TEMPLATE:-$here/alertmanager.yml.tmpl}
config=${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}

fail() { echo "render.sh: $*" >&2; exit 1; }

# A value for inside '...' in YAML ('' is a quote) and in sed's replacement (\, & and
# the | delimiter escaped). A line break has no place in any of them.
quoted() {
    case "$2" in *'
'*) fail "$1 holds a line break" ;; esac
    printf '%s' "$2" | sed -e "s/'/''/g" -e 's/[\\&|]/\\&/g'
}

starttls=false
case "${NOTIFIER_SMTP_STARTTLS:-false}" in
    1 | [Tt][Rr][Uu][Ee] | [Yy][Ee][Ss] | [Oo][Nn]) starttls=true ;;
    0 | [Ff][Aa][Ll][Ss][Ee] | [Nn][Oo] | [Oo][Ff][Ff] | "") ;;
    *) fail "NOTIFIER_SMTP_STARTTLS must be true or false, not ${NOTIFIER_SMTP_STARTTLS}" ;;
esac
port=${NOTIFIER_SMTP_PORT:-1025}
case "$port" in '' | *[!0-9]*) fail "NOTIFIER_SMTP_PORT must be a number, not $port" ;; esac
to=${MB_ALERT_EMAIL_TO:-}
[ -n "$to" ] || fail "MB_ALERT_EMAIL_TO names no recipient"
from=${MB_ALERT_EMAIL_FROM:-}
[ -n "$from" ] || fail "MB_ALERT_EMAIL_FROM names no sender"

host=$(quoted NOTIFIER_SMTP_HOST "${NOTIFIER_SMTP_HOST:-127.0.0.1}")
user=$(quoted NOTIFIER_SMTP_USER "${NOTIFIER_SMTP_USER:-}")
password=$(quoted NOTIFIER_SMTP_PASSWORD "${NOTIFIER_SMTP_PASSWORD:-}")
to=$(quoted MB_ALERT_EMAIL_TO "$to")
from=$(quoted MB_ALERT_EMAIL_FROM "$from")

# The password is in the result: readable by this user only. Once a line has its value
# (`t`: on to the next line), no other name is looked for in it, so a value that holds
# one (a password with @EMAIL_TO@ in it) stays as it is.
umask 077
sed -e "s|@SMTP_PORT@|$port|g" -e "s|@SMTP_HOST@|$host|g" -e t \
    -e "s|@SMTP_USER@|$user|g" -e t \
    -e "s|@SMTP_PASSWORD@|$password|g" -e t \
    -e "s|@SMTP_STARTTLS@|$starttls|g" -e t \
    -e "s|@EMAIL_TO@|$to|g" -e t \
    -e "s|@EMAIL_FROM@|$from|g" \
    "$template" > "$config.new"
mv "$config.new" "$config"
echo "render.sh: alerts mail $MB_ALERT_EMAIL_TO through ${NOTIFIER_SMTP_HOST:-127.0.0.1}:$port (STARTTLS $starttls)" >&2

[ "$#" -eq 0 ] || exec "$@"
