#!/bin/bash
# Test helper: builds a config drive the way the cloud agent does, a small vfat image labelled
# config-2 filled with mtools (no mount), for `-drive file=OUT.img,if=virtio,format=raw,readonly=on`.
#   usage: make-config-drive.sh OUT.img USER_DATA_FILE [META_DATA_JSON_FILE]
# Layout: /openstack/latest/user_data and, if given, /openstack/latest/meta_data.json
set -euo pipefail
export LC_ALL=C MTOOLS_SKIP_CHECK=1 PATH="$PATH:/usr/sbin:/sbin"

die() { echo "make-config-drive.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: make-config-drive.sh OUT.img USER_DATA_FILE [META_DATA_JSON_FILE]"
OUT=$1 USER_DATA=$2 META_DATA=${3:-}
command -v mkfs.vfat >/dev/null || die "missing tool 'mkfs.vfat' (install Debian package dosfstools)"
command -v mcopy >/dev/null || die "missing tool 'mcopy' (install Debian package mtools)"
[ -r "$USER_DATA" ] || die "cannot read $USER_DATA"
[ -z "$META_DATA" ] || [ -r "$META_DATA" ] || die "cannot read $META_DATA"

# Content plus 1 MiB for FAT metadata, at least 2 MiB; size in KiB.
bytes=$(cat "$USER_DATA" ${META_DATA:+"$META_DATA"} | wc -c)
kib=$(( bytes / 1024 + 1024 )); [ "$kib" -ge 2048 ] || kib=2048

TMP=$(mktemp "$(dirname "$OUT")/.config-drive.XXXXXX")
trap 'rm -f "$TMP"' EXIT
rm -f "$TMP"                                    # mkfs.vfat -C refuses an existing file
# mkfs.vfat warns that lowercase labels may upset DOS; config-2 is what guests look for.
log=$(mkfs.vfat -C -n config-2 "$TMP" "$kib" 2>&1) || die "mkfs.vfat failed: $log"
mmd -i "$TMP" ::/openstack ::/openstack/latest
mcopy -i "$TMP" "$USER_DATA" ::/openstack/latest/user_data
[ -z "$META_DATA" ] || mcopy -i "$TMP" "$META_DATA" ::/openstack/latest/meta_data.json
mv -f "$TMP" "$OUT"
