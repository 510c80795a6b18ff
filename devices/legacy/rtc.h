/* MC146818 CMOS real-time clock and NVRAM: index port LAYOUT_PORT_RTC (0x70,
 * bit 7 is the NMI mask and is ignored, other bits select one of 128 bytes)
 * and data port LAYOUT_PORT_RTC + 1 (0x71), registered as one 2-byte range.
 *
 * Time registers 0x00 sec, 0x02 min, 0x04 hour, 0x06 weekday (1 = Sunday),
 * 0x07 day, 0x08 month, 0x09 year, 0x32 century read the host clock in UTC
 * plus an offset, in BCD unless status B.DM (0x04) is set, in 12-hour form
 * (bit 7 = PM) unless status B.24H (0x02) is set. Writing them (directly, or
 * between setting and clearing status B.SET, during which time is frozen)
 * moves the offset, so the clock keeps running from the new time. Weekday
 * writes are ignored (it follows from the date).
 * Status A (0x0A): UIP always reads 0, other bits are stored (0x26 at start).
 * Status B (0x0B): stored, 0x02 at start (24-hour, BCD).
 * Status C (0x0C): UF (0x10) is set once the clock has ticked since the last
 * read, IRQF (0x80) with it if B.UIE is set; reading clears it. No interrupt
 * is raised.
 * Status D (0x0D): always 0x80 (valid RAM and time).
 * Every other byte (alarms included) is plain NVRAM.
 *
 * Threads: register callbacks run on vCPU threads, serialised by a lock. */
#ifndef MV_DEVICES_LEGACY_RTC_H
#define MV_DEVICES_LEGACY_RTC_H

#include <time.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/iobus.h"

#define RTC_NVRAM_SIZE 128

struct mv_rtc_params {
	/* Host time in seconds since the epoch; NULL means time(NULL). Called
	 * with the device lock held: it must not call back into this device. */
	time_t (*now)(void *opaque);
	void *opaque;
};

struct mv_rtc;

/* Allocates the RTC and registers ports 0x70-0x71 on pio. */
int rtc__create(struct mv_iobus *pio, const struct mv_rtc_params *p, struct mv_rtc **out,
		struct mv_err *err) MV_MUST_CHECK;
/* Unregisters and frees; NULL is ignored. */
void rtc__destroy(struct mv_rtc *r);

#endif
