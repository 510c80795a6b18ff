#!/usr/bin/env bash
# virtio-blk over the modern virtio PCI transport, default seccomp (on).
# The host makes a 64 MiB raw image with mkfs.ext4 (the guest's busybox has
# only mke2fs, ext2) and a 1 MiB read-only data image of known content.
# Boot 1: the guest finds 1af4:1042 twice (virtio_blk), reads the serial
# from /sys/block/vda/serial, the data disk's checksum, fails to write the
# read-only disk, mounts vda (ext4), writes /f and a 16 MiB file, syncs;
# meanwhile a second moonvisor opening the same writable image fails with
# the lock error. The host then reads /f back with debugfs. Boot 2 (root
# image opened O_DIRECT, twice: the guest reboots once, so the disk is
# closed and reopened): the guest removes the big file and runs fstrim;
# the image's allocated blocks shrink by at least 12 MiB.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir virtio_blk)
PATH=$PATH:/sbin:/usr/sbin
for tool in mkfs.ext4 debugfs e2fsck; do
	command -v "$tool" >/dev/null || fail "$tool not found (e2fsprogs)"
done
# The images need a local file system with hole punching and flock: the
# nested VM's shared dirs are 9p without fallocate, so there they live in
# its private /tmp (an overlay on tmpfs: punching holes works, O_DIRECT does
# not on its 6.1 kernel; the unit tests cover O_DIRECT).
imgdir=$work
if [ "${MV_VMTEST:-0}" = 1 ]; then
	imgdir=/tmp/blk-images
	mkdir -p "$imgdir"
fi
root=$imgdir/root.ext4
data=$imgdir/data.raw
direct=1
if ! dd if=/dev/zero of="$imgdir/dio-probe" bs=4096 count=1 oflag=direct 2>/dev/null; then
	say "$imgdir does not take O_DIRECT: boot 2 uses a loop device (nested VM) or runs without direct = true"
	direct=0
fi
rm -f "$imgdir/dio-probe"
content="moonvisor virtio-blk says hello 4242"
rm -f "$root" "$data"
truncate -s 64M "$root"
mkfs.ext4 -q -F -E nodiscard "$root"
head -c 1048576 /dev/urandom >"$data"
data_md5=$(md5sum <"$data" | cut -d' ' -f1)

# Linux passes at most 32 words after "--" to init: ship scripts base64'd.
guest_cmd() { echo "echo $(printf '%s\n' "$1" | base64 -w0) | base64 -d | sh"; }
boot1=$(cat <<SH
for d in /sys/bus/pci/devices/*; do
	echo "pci_dev=\$(basename \$d) \$(cat \$d/vendor):\$(cat \$d/device) driver=\$(basename "\$(readlink \$d/driver)")"
done
echo "serial_vda=\$(cat /sys/block/vda/serial)"
echo "serial_vdb=\$(cat /sys/block/vdb/serial)"
echo "ro_vda=\$(cat /sys/block/vda/ro) ro_vdb=\$(cat /sys/block/vdb/ro)"
echo "size_vda=\$(cat /sys/block/vda/size) size_vdb=\$(cat /sys/block/vdb/size)"
echo "discard_vda=\$(cat /sys/block/vda/queue/discard_max_bytes)"
echo "md5_vdb=\$(md5sum </dev/vdb | cut -d' ' -f1)"
if dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null; then echo vdb_write=accepted; else echo vdb_write=rejected; fi
mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo mounted=yes
echo "$content" >/mnt/f
dd if=/dev/zero of=/mnt/big bs=1M count=16 2>/dev/null
sync
echo "big_size=\$(stat -c %s /mnt/big)"
echo blk-holding
sleep 10
umount /mnt && echo umounted=yes
dmesg | grep -iE 'virtio_blk|vd[ab]|ext4|I/O error' | sed 's/^/dmesg: /'
echo blk-report
SH
)
boot2=$(cat <<'SH'
mount -t ext4 /dev/vda /mnt && echo mounted=yes
echo "f_content=$(cat /mnt/f)"
rm -f /mnt/big
sync
fstrim -v /mnt | sed 's/^/fstrim: /'
sync
umount /mnt && echo umounted=yes
dmesg | grep -iE 'I/O error|EXT4-fs error' | sed 's/^/dmesg: /'
echo blk-report
SH
)

# ---- boot 1, with a second VMM trying the same image ----
log=$work/boot1.log
lock_log=$work/lock.log
rc=0
run_logged 300 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/blk.lua" "$root" "$data" -- "$(guest_cmd "$boot1")" &
vmm=$!
for _ in $(seq 600); do
	[ -f "$log" ] && log_has "$log" '^blk-holding' && break
	kill -0 "$vmm" 2>/dev/null || break
	sleep 0.5
done
if log_has "$log" '^blk-holding'; then
	lrc=0
	run_logged 60 "$lock_log" "$bin" "$MV_SOURCE_DIR/tests/integration/blk.lua" "$root" - -- true || lrc=$?
	expect_status "the second moonvisor on the same image" 1 "$lrc"
	expect_line "$lock_log" "disk 'root': $root is locked by another process" "the lock error names the disk and the file"
else
	add_failure "the guest never reached the lock test point"
fi
wait "$vmm" || rc=$?
expect_status "moonvisor (boot 1)" 0 "$rc"
expect_line "$log" '^pci_dev=0000:00:0[1-9a-f]\.0 0x1af4:0x1042 driver=virtio-pci$' "1af4:1042 bound to virtio-pci"
[ "$(console_lines "$log" | grep -cE '^pci_dev=.* 0x1af4:0x1042 driver=virtio-pci$')" = 2 ] || add_failure "expected two virtio-blk functions"
expect_line "$log" '^serial_vda=root0$' "/sys/block/vda/serial"
expect_line "$log" '^serial_vdb=data$' "the serial defaults to the id"
expect_line "$log" '^ro_vda=0 ro_vdb=1$' "vdb is read-only (VIRTIO_BLK_F_RO)"
expect_line "$log" '^size_vda=131072 size_vdb=2048$' "capacities in 512-byte sectors"
expect_line "$log" '^discard_vda=[1-9]' "vda supports discard"
expect_line "$log" "^md5_vdb=$data_md5\$" "the guest reads the data image's exact content"
expect_line "$log" '^vdb_write=rejected$' "writes to the read-only disk fail"
expect_line "$log" '^mounted=yes$' "ext4 mounted"
expect_line "$log" '^big_size=16777216$' "16 MiB file written"
expect_line "$log" '^umounted=yes$' "unmounted cleanly"
expect_line "$log" '^moonvisor-guest: exit status 0' "guest script ran"
expect_line "$log" '^blktest: stopped reason=poweroff' "guest powered off"
if line=$(console_lines "$log" | grep -E '^host-dev: run=1 pci=0000:00:[0-9a-f]{2}\.0 type=virtio-blk id=root vendor=0x1af4 device=0x1042 '); then
	bytes=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$line")
	errors=$(sed -n 's/.* errors=\([0-9]*\)$/\1/p' <<<"$line")
	[ "${bytes:-0}" -ge 16777216 ] || add_failure "vm:info() counted $bytes bytes on root, want >= 16 MiB"
	[ "${errors:-1}" = 0 ] || add_failure "vm:info() counted $errors errors on root"
else
	add_failure "vm:info().devices has no virtio-blk entry 'root' with its PCI address"
fi
expect_line "$log" '^host-dev: run=1 pci=0000:00:[0-9a-f]{2}\.0 type=virtio-blk id=data ' "vm:info() lists the data disk"
got=$(debugfs -R 'cat /f' "$root" 2>/dev/null || true)
[ "$got" = "$content" ] || add_failure "debugfs reads /f as '$got', want '$content'"
blocks1=$(stat -c %b "$root")
say "after boot 1: $blocks1 blocks of 512 bytes allocated"

# ---- boot 2: fstrim, with the root image opened O_DIRECT ----
# Where the image's file system refuses O_DIRECT (the nested VM's /tmp),
# the image is reached through a loop device: a block device backend,
# whose discards punch holes in the image file all the same.
disk2=$root loopdev=
if [ "$direct" = 0 ] && [ "${MV_VMTEST:-0}" = 1 ] && loopdev=$(losetup -f --show "$root" 2>/dev/null); then
	trap 'losetup -d "$loopdev" 2>/dev/null || true' EXIT
	disk2=$loopdev direct=1
	say "boot 2: $root through $loopdev (block device), O_DIRECT"
fi
log2=$work/boot2.log
rc=0
MV_BLK_RUNS=2 MV_BLK_DIRECT=$direct run_logged 300 "$log2" "$bin" "$MV_SOURCE_DIR/tests/integration/blk.lua" "$disk2" - -- "$(guest_cmd "$boot2")" || rc=$?
[ -z "$loopdev" ] || losetup -d "$loopdev" || add_failure "losetup -d $loopdev failed"
expect_status "moonvisor (boot 2)" 0 "$rc"
[ "$(console_lines "$log2" | grep -cxF "f_content=$content")" = 2 ] ||
	add_failure "expected /f read back in both runs of boot 2 (O_DIRECT; the guest rebooted in between)"
expect_line "$log2" '^fstrim: /mnt: [0-9]+ bytes trimmed' "fstrim ran"
[ "$(console_lines "$log2" | grep -cx 'umounted=yes')" = 2 ] || add_failure "expected two clean unmounts in boot 2"
expect_line "$log2" '^blktest: stopped reason=killed boots=2$' "the guest rebooted once (disks reopened) and ran again"
expect_line "$log2" '^host-dev: run=2 pci=0000:00:[0-9a-f]{2}\.0 type=virtio-blk id=root .* errors=0$' "no errors after the reboot"
blocks2=$(stat -c %b "$root")
say "after fstrim: $blocks2 blocks (was $blocks1)"
[ "$blocks2" -le $((blocks1 - 24576)) ] || add_failure "fstrim freed too little: $blocks1 -> $blocks2 blocks (want >= 12 MiB less)"
fsck_out=$(e2fsck -fn "$root" 2>&1) || add_failure "e2fsck -fn: $fsck_out"
cat "$log2" >>"$log"
expect_no_line "$log" 'DEVICE_NEEDS_RESET|needs reset' 'I/O error' 'EXT4-fs error' 'broke a queue' 'seccomp'
finish "$log"
