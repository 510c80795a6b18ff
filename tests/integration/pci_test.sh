#!/usr/bin/env bash
# The PCIe host bridge: the default guest enumerates 0000:00:00.0 as
# 1b36:0008 (class 0x060000) through the ACPI root bridge PCI0, with the
# bus, I/O and both MMIO windows of its _CRS; Linux takes the MCFG's ECAM
# (reserved in e820 and by a PNP0C02 device, so no "not reserved"
# complaint) and negotiates _OSC; config space reads back through sysfs;
# the guest still powers off cleanly. (Linux reads the first 256 bytes
# through 0xCF8/0xCFC; the unit tests cover ECAM accesses.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$(moonvisor_bin)
guest_dir >/dev/null
work=$(test_workdir pci)
log=$work/pci.log
# The kernel passes at most 32 words after "--" to init: ship the script
# base64-encoded and pipe it into sh.
script=$(cat <<'SH'
d=/sys/bus/pci/devices/0000:00:00.0
echo "pci_id=$(cat $d/vendor):$(cat $d/device):$(cat $d/class)"
echo "pci_cfg=$(od -An -tx1 -N4 $d/config)"
echo "pci_devices=$(ls /sys/bus/pci/devices | tr '\n' ' ')"
dmesg | grep -iE 'mmconfig|ecam|pci|PNP0A|_OSC|ACPI (Error|BIOS Error)' | sed 's/^/dmesg: /'
grep -iE 'mmconfig|pci' /proc/iomem /proc/ioports | sed 's/^/iomem: /'
SH
)
cmd="echo $(printf '%s\n' "$script" | base64 -w0) | base64 -d | sh"

rc=0
run_logged 300 "$log" "$bin" "$MV_SOURCE_DIR/tests/integration/guest.lua" cpus=2 memory=512M -- "$cmd" || rc=$?
expect_status "moonvisor" 0 "$rc"
expect_line "$log" '^pci_id=0x1b36:0x0008:0x060000$' "host bridge 00:00.0 is 1b36:0008 class 0x060000"
expect_line "$log" '^pci_cfg= ?36 1b 08 00$' "config space readable through sysfs"
expect_line "$log" 'ACPI: PCI Root Bridge \[PCI0\] \(domain 0000 \[bus 00\]\)' "ACPI root bridge PCI0"
expect_line "$log" 'PCI: MMCONFIG for domain 0000 \[bus 00-00\] at \[mem 0xe8000000-0xe80fffff\]' "MCFG parsed"
expect_line "$log" 'PCI: MMCONFIG at \[mem 0xe8000000-0xe80fffff\] reserved' "ECAM reserved"
expect_line "$log" 'root bus resource \[io  0xc000-0xffff window\]' "I/O window"
expect_line "$log" 'root bus resource \[mem 0xc0000000-0xe7ffffff window\]' "32-bit MMIO window"
expect_line "$log" 'root bus resource \[mem 0x[0-9a-f]{10,}-0x[0-9a-f]{10,} window\]' "64-bit MMIO window"
expect_line "$log" 'root bus resource \[bus 00\]' "bus range 00"
expect_line "$log" '_OSC: OS now controls' "_OSC negotiated"
expect_line "$log" 'iomem: .*e8000000-e80fffff : PCI MMCONFIG 0000 \[bus 00-00\]' "ECAM in /proc/iomem"
expect_line "$log" '^moonvisor-guest: exit status 0' "guest command ran"
expect_no_line "$log" 'not reserved' 'not using MMCONFIG' '_OSC failed' 'fail to add MMCONFIG' 'PCI: Fatal' \
	'BAR .* no space' 'ACPI Error' 'ACPI BIOS Error'
finish "$log"
