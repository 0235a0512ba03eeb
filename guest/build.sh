#!/bin/bash
# Builds the Halcyon test guest: a BIOS-bootable qcow2 (MBR + one FAT16 partition + SYSLINUX)
# holding the Debian cloud kernel and a busybox initramfs made from guest/rootfs/.
# Debian packages only; works without root, loop devices, mounts or network.
#   usage: build.sh OUTPUT.qcow2        env: KVER=<kernel version> (default: newest *-cloud-amd64)
set -euo pipefail
export LC_ALL=C MTOOLS_SKIP_CHECK=1 PATH="$PATH:/usr/sbin:/sbin"   # mkfs.vfat, sfdisk, modprobe live in sbin

die() { echo "build.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: build.sh OUTPUT.qcow2"
OUT=$1
T0=${EPOCHREALTIME/./}   # microseconds

# Modules the guest loads, in any order; dependencies are resolved below.
MODULES="virtio_pci virtio_net virtio_blk vfat nls_cp437 nls_iso8859-1 iso9660 evdev button"
PART_MIB=64        # boot partition; qcow2 only stores what is written, so headroom is free
PART_START=2048    # sectors: 1 MiB alignment

need() { command -v "$1" >/dev/null 2>&1 || die "missing tool '$1' (install Debian package $2)"; }
need modprobe kmod
need cpio cpio
need gzip gzip
need mkfs.vfat dosfstools
need mcopy mtools
need syslinux syslinux
need sfdisk fdisk
need qemu-img qemu-utils
need gcc gcc
[ -r /usr/lib/x86_64-linux-gnu/libc.a ] || die "missing the static C library (install Debian package libc6-dev)"
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "missing $BUSYBOX (install Debian package busybox-static)"
# The initramfs has no libc, so a dynamically linked busybox would not start.
! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is dynamically linked (install Debian package busybox-static)"
MBR=/usr/lib/syslinux/mbr/mbr.bin
[ -r "$MBR" ] || die "missing $MBR (install Debian package syslinux-common)"

if [ -z "${KVER:-}" ]; then
  KVER=$(for k in /boot/vmlinuz-*-cloud-amd64; do [ -e "$k" ] && echo "${k#/boot/vmlinuz-}"; done | sort -V | tail -n 1)
  [ -n "$KVER" ] || die "no /boot/vmlinuz-*-cloud-amd64 (install Debian package linux-image-cloud-amd64)"
fi
KERNEL=/boot/vmlinuz-$KVER
[ -r "$KERNEL" ] || die "cannot read $KERNEL (install linux-image-$KVER)"
[ -d "/lib/modules/$KVER" ] || die "missing /lib/modules/$KVER (install linux-image-$KVER)"

HERE=$(cd "$(dirname "$0")" && pwd)
# Build next to the output so the final rename is atomic (same filesystem).
OUTDIR=$(dirname "$OUT")
mkdir -p "$OUTDIR"
TMP=$(mktemp -d "$OUTDIR/.halcyon-guest-build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---- initramfs ----
R=$TMP/rootfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,mnt/config,www,var/log,lib/modules}
ln -s ../run "$R/var/run"                      # acpid and httpd default to /var/run
cp -R "$HERE/rootfs/." "$R/"
chmod 755 "$R/init" "$R/etc/udhcpc.script" "$R/etc/acpi/PWRF/00000080"   # in case a checkout lost +x
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
# the HA tests' write oracle (chain.c); static, as the initramfs has no libc
gcc -static -O2 -Wall -o "$R/bin/halcyon-chain" "$HERE/chain.c" || die "compiling chain.c failed"
strip "$R/bin/halcyon-chain" 2>/dev/null || true
# Applet links are made here rather than by `busybox --install` at boot: less work on the TCG clock.
for a in $("$BUSYBOX" --list-full); do
  case $a in */*) ;; *) continue ;; esac           # skip top-level 'linuxrc'
  [ -e "$R/$a" ] || [ -L "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done

# modprobe -C /dev/null: the host's /etc/modprobe.d options must not leak into the guest.
ORDER=$R/lib/modules/load-order
: > "$ORDER"
for m in $MODULES; do
  deps=$(modprobe -C /dev/null -S "$KVER" --show-depends "$m" 2>/dev/null) \
    || die "kernel $KVER has no module '$m'"
  while read -r kind path _; do
    [ "$kind" = insmod ] || continue              # "builtin foo": nothing to load
    name=${path##*/}; name=${name%%.ko*}
    grep -qx "$name" "$ORDER" && continue
    case $path in                                 # busybox insmod wants plain .ko files
      *.ko)     cp "$path" "$R/lib/modules/$name.ko" ;;
      *.ko.xz)  need xz xz-utils; xz -dc "$path" > "$R/lib/modules/$name.ko" ;;
      *.ko.zst) need zstd zstd; zstd -qdc "$path" > "$R/lib/modules/$name.ko" ;;
      *)        die "unsupported module file $path" ;;
    esac
    echo "$name" >> "$ORDER"
  done <<< "$deps"
done

INITRD=$TMP/initrd.gz
(cd "$R" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$INITRD"

# ---- disk: FAT16 partition image filled with mtools, then wrapped in an MBR ----
FAT=$TMP/part.fat
RAW=$TMP/disk.raw
mkfs.vfat -C -F 16 -n HALCYON -i 48414c43 "$FAT" $((PART_MIB * 1024)) >/dev/null
mcopy -i "$FAT" "$KERNEL" ::/vmlinuz
mcopy -i "$FAT" "$INITRD" ::/initrd.gz
mcopy -i "$FAT" "$HERE/boot/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$FAT"                        # mtools-based: writes ldlinux.sys/.c32 and the VBR

truncate -s $(( (PART_START + PART_MIB * 2048) * 512 )) "$RAW"
printf 'label: dos\nlabel-id: 0x48414c43\nstart=%d, size=%d, type=6, bootable\n' \
  "$PART_START" $((PART_MIB * 2048)) | sfdisk -q "$RAW"
dd if="$FAT" of="$RAW" bs=512 seek="$PART_START" conv=notrunc,sparse status=none
dd if="$MBR" of="$RAW" bs=440 count=1 conv=notrunc status=none
qemu-img convert -f raw -O qcow2 "$RAW" "$TMP/out.qcow2"
mv -f "$TMP/out.qcow2" "$OUT"

h() { numfmt --to=iec --suffix=B "$1"; }
echo "$OUT: $(h "$(stat -c %s "$OUT")") (kernel $KVER, initramfs $(h "$(stat -c %s "$INITRD")")," \
  "$(wc -l < "$ORDER") modules) built in $(( (${EPOCHREALTIME/./} - T0) / 1000 )) ms"
