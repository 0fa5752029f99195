#!/bin/sh
# madoguchi container entry point (POSIX sh): checks, migrations, then `madoguchi "$@"`.
#
# 1. refuses to run as root (set MADOGUCHI_ALLOW_ROOT=1 to override, e.g. for a one-off);
# 2. checks MADOGUCHI_DATA_DIR: created if missing, writable, mode 0700 (fixed when this
#    user owns it; otherwise a clear error);
# 3. checks that the secret files named by MADOGUCHI_*_FILE variables can be read
#    (Docker/compose secrets under /run/secrets; a store key file that does not exist yet
#    is created by madoguchi on the first start);
# 4. runs `madoguchi db upgrade` (migrations at every start), stopping on failure;
# 5. exec madoguchi "$@" (default: run), so that SIGTERM reaches madoguchi directly.
set -eu

me=madoguchi-entrypoint
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

umask 077
uid=$(id -u)

if [ "$uid" = 0 ] && [ "${MADOGUCHI_ALLOW_ROOT:-}" != 1 ]; then
    die "refusing to run as root: run as the madoguchi user (the image's default, uid 10001; \`docker run --user\`) or set MADOGUCHI_ALLOW_ROOT=1"
fi

data_dir=${MADOGUCHI_DATA_DIR:-./var}
if [ ! -e "$data_dir" ]; then
    mkdir -p "$data_dir" 2>/dev/null || die "data dir $data_dir does not exist and cannot be created by uid $uid"
fi
[ -d "$data_dir" ] || die "data dir $data_dir is not a directory"
owner=$(stat -c %u "$data_dir")
mode=$(stat -c %a "$data_dir")
if [ ! -w "$data_dir" ] || [ ! -x "$data_dir" ]; then
    die "data dir $data_dir is not writable by uid $uid (owner uid $owner, mode $mode): chown it to uid $uid, or mount a volume owned by it"
fi
if [ $((0$mode & 077)) -ne 0 ]; then
    if [ "$owner" = "$uid" ]; then
        chmod 0700 "$data_dir" || die "cannot chmod 0700 data dir $data_dir"
        printf '%s: data dir %s was mode %s, set to 0700\n' "$me" "$data_dir" "$mode" >&2
    else
        die "data dir $data_dir is mode $mode and owned by uid $owner, not uid $uid: it must be 0700 (chown it to uid $uid, or chmod 0700 it as its owner)"
    fi
fi

for var in MADOGUCHI_MAILBOX_PASSWORD_FILE MADOGUCHI_OUTBOX_PASSWORD_FILE \
           MADOGUCHI_MAILBOX_OAUTH_CLIENT_SECRET_FILE MADOGUCHI_STORE_KEY_FILE; do
    eval "file=\${$var:-}"
    [ -n "$file" ] || continue
    if [ "$var" = MADOGUCHI_STORE_KEY_FILE ] && [ ! -e "$file" ]; then
        continue  # created 0600 by madoguchi on the first start
    fi
    [ -r "$file" ] || die "$var: $file cannot be read by uid $uid (a secret file must be readable by the madoguchi user)"
done

[ "$#" -gt 0 ] || set -- run

rc=0
madoguchi db upgrade || rc=$?
if [ "$rc" -ne 0 ]; then
    printf '%s: `madoguchi db upgrade` failed (exit %s): not starting `madoguchi %s`\n' "$me" "$rc" "$*" >&2
    exit "$rc"
fi
exec madoguchi "$@"
