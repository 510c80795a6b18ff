/* Byte offsets in a bzImage's setup header and in struct boot_params (the
 * "zero page"), from Linux Documentation/arch/x86/boot.rst and zero-page.rst.
 * The setup header sits at the same offsets in the file and the zero page.
 * Private to core/x86/ boot code. */
#ifndef MV_X86_BOOTPARAMS_H
#define MV_X86_BOOTPARAMS_H

#define BP_SIZE                 0x1000  /* the zero page */
#define BP_ACPI_RSDP_ADDR       0x070   /* u64, protocol >= 2.14 */
#define BP_EXT_RAMDISK_IMAGE    0x0c0   /* u32, high half of ramdisk_image */
#define BP_EXT_RAMDISK_SIZE     0x0c4
#define BP_EXT_CMD_LINE_PTR     0x0c8
#define BP_E820_ENTRIES         0x1e8   /* u8 */
#define BP_E820_TABLE           0x2d0   /* 128 x 20 bytes */
#define BP_E820_TABLE_MAX       128

#define HDR_START               0x1f1   /* first byte of the setup header */
#define HDR_SETUP_SECTS         0x1f1   /* u8, 0 means 4 */
#define HDR_SYSSIZE             0x1f4   /* u32, payload size in 16-byte units */
#define HDR_BOOT_FLAG           0x1fe   /* u16, 0xaa55 */
#define HDR_JUMP_OFFSET         0x201   /* u8: the header ends at 0x202 + this */
#define HDR_MAGIC               0x202   /* "HdrS" */
#define HDR_VERSION             0x206   /* u16 boot protocol, e.g. 0x020f */
#define HDR_TYPE_OF_LOADER      0x210   /* u8 */
#define HDR_LOADFLAGS           0x211   /* u8 */
#define HDR_RAMDISK_IMAGE       0x218   /* u32 */
#define HDR_RAMDISK_SIZE        0x21c   /* u32 */
#define HDR_HEAP_END_PTR        0x224   /* u16 */
#define HDR_CMD_LINE_PTR        0x228   /* u32 */
#define HDR_INITRD_ADDR_MAX     0x22c   /* u32, inclusive */
#define HDR_KERNEL_ALIGNMENT    0x230   /* u32 */
#define HDR_RELOCATABLE         0x234   /* u8 */
#define HDR_XLOADFLAGS          0x236   /* u16 */
#define HDR_CMDLINE_SIZE        0x238   /* u32, excluding NUL */
#define HDR_SETUP_DATA          0x250   /* u64 */
#define HDR_PREF_ADDRESS        0x258   /* u64 */
#define HDR_INIT_SIZE           0x260   /* u32 */
#define HDR_FIELDS_END          0x264   /* every field above lies before this */

#define HDR_MAGIC_VALUE         0x53726448u  /* "HdrS" little endian */
#define HDR_BOOT_FLAG_VALUE     0xaa55
#define HDR_MIN_PROTOCOL        0x0206
#define HDR_PROTOCOL_RSDP       0x020e  /* acpi_rsdp_addr exists */
#define HDR_DEFAULT_SETUP_SECTS 4
#define HDR_SECTOR              512

#define LOADFLAG_LOADED_HIGH    0x01
#define LOADFLAG_CAN_USE_HEAP   0x80
#define XLF_KERNEL_64           0x0001
#define LOADER_TYPE_UNDEFINED   0xff
#define HEAP_END_PTR_VALUE      0xfe00
#define BZIMAGE_ENTRY64_OFFSET  0x200   /* 64-bit entry: load address + 0x200 */

#endif
