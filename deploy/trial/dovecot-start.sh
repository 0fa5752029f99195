#!/bin/sh
# Trial Dovecot start: the passwd-file for user madoguchi from the compose secret, then Dovecot.
set -eu
umask 027
password=$(cat /run/secrets/mailbox_password)
printf 'madoguchi:{PLAIN}%s\n' "$password" > /etc/dovecot/users
chgrp dovecot /etc/dovecot/users
exec /usr/sbin/dovecot -F
