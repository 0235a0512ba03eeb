#!/bin/sh
# Runs in the tiny guest as user data. Reports each virtio disk that has a serial as it appears
# ("disk+ SERIAL DEV data=FIRST-LINE-OF-SECTOR-0 sectors=N") and goes ("disk- SERIAL"). A disk
# whose serial is WRITE_SERIAL gets PATTERN written to sector 0 first (fsynced); with
# WRITE_SERIAL "*", every disk whose sector 0 is blank gets "halcyon-SERIAL".
WRITE_SERIAL="@WRITE_SERIAL@"
PATTERN="@PATTERN@"
INTERVAL_US=@INTERVAL_US@
prev=" "
while :; do
  cur=" "
  for d in /sys/block/vd*; do
    n=${d##*/}
    s=
    read -r s < "$d/serial" 2>/dev/null   # no trailing newline: read fails but sets s
    [ -n "$s" ] && [ -b "/dev/$n" ] || continue
    cur="$cur$s "
    case "$prev" in *" $s "*) continue ;; esac
    c=$(dd if="/dev/$n" bs=512 count=1 2>/dev/null | head -n 1 | tr -cd 'A-Za-z0-9=._-')
    w=
    if [ "$s" = "$WRITE_SERIAL" ]; then
      w=$PATTERN
    elif [ "$WRITE_SERIAL" = "*" ] && [ -z "$c" ]; then
      w=halcyon-$s
    fi
    if [ -n "$w" ]; then
      printf '%s\n' "$w" | dd of="/dev/$n" bs=512 count=1 conv=sync,fsync 2>/dev/null
      c=$(dd if="/dev/$n" bs=512 count=1 2>/dev/null | head -n 1 | tr -cd 'A-Za-z0-9=._-')
    fi
    echo "disk+ $s $n data=$c sectors=$(cat "$d/size")"
  done
  for s in $prev; do
    case "$cur" in *" $s "*) ;; *) echo "disk- $s" ;; esac
  done
  prev=$cur
  usleep "$INTERVAL_US"
done
