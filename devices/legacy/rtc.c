#include "devices/legacy/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/x86/layout.h"

#define PORT_INDEX LAYOUT_PORT_RTC
#define RTC_NR_PORTS 2
#define INDEX_MASK 0x7F /* bit 7 masks NMI */

enum {
	REG_SEC = 0x00, REG_MIN = 0x02, REG_HOUR = 0x04, REG_WDAY = 0x06, REG_MDAY = 0x07,
	REG_MON = 0x08, REG_YEAR = 0x09, REG_A = 0x0A, REG_B = 0x0B, REG_C = 0x0C, REG_D = 0x0D,
	REG_CENTURY = 0x32,
};

#define A_UIP     0x80
#define A_DEFAULT 0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define B_SET     0x80
#define B_UIE     0x10
#define B_DM      0x04 /* binary, not BCD */
#define B_24H     0x02
#define B_DEFAULT B_24H
#define C_IRQF    0x80
#define C_UF      0x10
#define D_VRT     0x80
#define HOUR_PM   0x80

struct mv_rtc {
	pthread_mutex_t lock;
	struct mv_iobus *pio;
	struct mv_rtc_params p;
	uint8_t index;
	uint8_t ram[RTC_NVRAM_SIZE]; /* NVRAM, alarms and status A/B */
	time_t offset;               /* guest time minus host time */
	time_t last_tick;            /* guest second when status C was last read */
	bool setting;                /* status B.SET: time frozen in set_tm */
	struct tm set_tm;
};

static time_t host_now(const struct mv_rtc *r)
{
	return r->p.now ? r->p.now(r->p.opaque) : time(NULL);
}

static time_t guest_now(const struct mv_rtc *r)
{
	time_t t;

	if (__builtin_add_overflow(host_now(r), r->offset, &t))
		return 0;
	return t;
}

static void current_tm(const struct mv_rtc *r, struct tm *tm)
{
	time_t t;

	if (r->setting) {
		*tm = r->set_tm;
		return;
	}
	t = guest_now(r);
	if (!gmtime_r(&t, tm)) {
		memset(tm, 0, sizeof(*tm));
		tm->tm_mday = 1;
		tm->tm_year = 70;
	}
}

/* Makes the clock read tm from now on. */
static void set_time(struct mv_rtc *r, struct tm *tm)
{
	time_t t = timegm(tm), off;

	if (__builtin_sub_overflow(t, host_now(r), &off)) {
		pr_debug("guest time out of range, ignored");
		return;
	}
	r->offset = off;
}

static bool binary(const struct mv_rtc *r)
{
	return r->ram[REG_B] & B_DM;
}

static uint8_t encode(const struct mv_rtc *r, unsigned int v)
{
	if (binary(r))
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static unsigned int decode(const struct mv_rtc *r, uint8_t v)
{
	return binary(r) ? v : (unsigned int)(v >> 4) * 10 + (v & 0x0F);
}

static uint8_t encode_hour(const struct mv_rtc *r, unsigned int h)
{
	if (r->ram[REG_B] & B_24H)
		return encode(r, h);
	return encode(r, h % 12 ? h % 12 : 12) | (h >= 12 ? HOUR_PM : 0);
}

static unsigned int decode_hour(const struct mv_rtc *r, uint8_t v)
{
	if (r->ram[REG_B] & B_24H)
		return decode(r, v);
	return decode(r, v & ~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

/* Clamped so that the arithmetic on it cannot overflow an int. */
static unsigned int full_year(const struct tm *tm)
{
	long y = (long)tm->tm_year + 1900;

	return y < 0 ? 0 : (unsigned int)MIN(y, 1000000L);
}

static uint8_t read_time_reg(const struct mv_rtc *r, uint8_t reg)
{
	struct tm tm;

	current_tm(r, &tm);
	switch (reg) {
	case REG_SEC:     return encode(r, (unsigned int)tm.tm_sec);
	case REG_MIN:     return encode(r, (unsigned int)tm.tm_min);
	case REG_HOUR:    return encode_hour(r, (unsigned int)tm.tm_hour);
	case REG_WDAY:    return encode(r, (unsigned int)tm.tm_wday + 1);
	case REG_MDAY:    return encode(r, (unsigned int)tm.tm_mday);
	case REG_MON:     return encode(r, (unsigned int)tm.tm_mon + 1);
	case REG_YEAR:    return encode(r, full_year(&tm) % 100);
	default:          return encode(r, full_year(&tm) / 100);
	}
}

/* Stores the decoded value of a time register into tm (not normalised). */
static void update_tm(const struct mv_rtc *r, struct tm *tm, uint8_t reg, uint8_t v)
{
	int d = (int)decode(r, v);
	int year = (int)full_year(tm);

	switch (reg) {
	case REG_SEC:  tm->tm_sec = d; break;
	case REG_MIN:  tm->tm_min = d; break;
	case REG_HOUR: tm->tm_hour = (int)decode_hour(r, v); break;
	case REG_MDAY: tm->tm_mday = d; break;
	case REG_MON:  tm->tm_mon = d - 1; break;
	case REG_YEAR: tm->tm_year = year / 100 * 100 + d - 1900; break;
	default:       tm->tm_year = d * 100 + year % 100 - 1900; break;
	}
}

static void write_time_reg(struct mv_rtc *r, uint8_t reg, uint8_t v)
{
	struct tm tm;

	if (r->setting) {
		update_tm(r, &r->set_tm, reg, v);
		return;
	}
	current_tm(r, &tm);
	update_tm(r, &tm, reg, v);
	set_time(r, &tm);
}

static void write_b(struct mv_rtc *r, uint8_t v)
{
	bool set = v & B_SET;

	if (set && !r->setting)
		current_tm(r, &r->set_tm);
	r->ram[REG_B] = v;
	if (!set && r->setting) {
		r->setting = false;
		set_time(r, &r->set_tm);
		r->last_tick = guest_now(r);
	}
	r->setting = set;
}

static uint8_t read_c(struct mv_rtc *r)
{
	time_t t = guest_now(r);
	uint8_t v = 0;

	if (!r->setting && t != r->last_tick)
		v |= C_UF;
	if ((v & C_UF) && (r->ram[REG_B] & B_UIE))
		v |= C_IRQF;
	r->last_tick = t;
	return v;
}

static bool is_time_reg(uint8_t reg)
{
	return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR || reg == REG_WDAY ||
	       reg == REG_MDAY || reg == REG_MON || reg == REG_YEAR || reg == REG_CENTURY;
}

static uint8_t read_data(struct mv_rtc *r)
{
	uint8_t reg = r->index;

	if (is_time_reg(reg))
		return read_time_reg(r, reg);
	switch (reg) {
	case REG_A: return r->ram[REG_A] & ~A_UIP;
	case REG_C: return read_c(r);
	case REG_D: return D_VRT;
	default:    return r->ram[reg];
	}
}

static void write_data(struct mv_rtc *r, uint8_t v)
{
	uint8_t reg = r->index;

	if (reg == REG_WDAY || reg == REG_C || reg == REG_D)
		return; /* derived or read-only */
	if (is_time_reg(reg))
		write_time_reg(r, reg, v);
	else if (reg == REG_B)
		write_b(r, v);
	else if (reg == REG_A)
		r->ram[REG_A] = v & ~A_UIP;
	else
		r->ram[reg] = v;
}

/* A 2-byte access at 0x70 is split: index first, then data. */
static void rtc_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct mv_rtc *r = opaque;
	uint8_t *out = data;

	pthread_mutex_lock(&r->lock);
	for (uint32_t i = 0; i < len; i++)
		out[i] = off + i == 0 ? 0xFF : read_data(r); /* the index is write-only */
	pthread_mutex_unlock(&r->lock);
}

static void rtc_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct mv_rtc *r = opaque;
	const uint8_t *in = data;

	pthread_mutex_lock(&r->lock);
	for (uint32_t i = 0; i < len; i++) {
		if (off + i == 0)
			r->index = in[i] & INDEX_MASK;
		else
			write_data(r, in[i]);
	}
	pthread_mutex_unlock(&r->lock);
}

static const struct mv_iodev_ops rtc_ops = { .read = rtc_read, .write = rtc_write };

int rtc__create(struct mv_iobus *pio, const struct mv_rtc_params *p, struct mv_rtc **out,
		struct mv_err *err)
{
	struct mv_rtc *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return err__set(err, -ENOMEM, "out of memory for the RTC");
	pthread_mutex_init(&r->lock, NULL);
	r->pio = pio;
	r->p = *p;
	r->ram[REG_A] = A_DEFAULT;
	r->ram[REG_B] = B_DEFAULT;
	r->last_tick = guest_now(r);
	ret = iobus__register(pio, PORT_INDEX, RTC_NR_PORTS, &rtc_ops, r, "rtc", err);
	if (ret < 0)
		goto err_free;
	*out = r;
	return 0;

err_free:
	pthread_mutex_destroy(&r->lock);
	free(r);
	return ret;
}

void rtc__destroy(struct mv_rtc *r)
{
	int ret;

	if (!r)
		return;
	ret = iobus__unregister(r->pio, PORT_INDEX);
	if (ret < 0)
		pr_warn_errno(ret, "unregistering the RTC at 0x%x", PORT_INDEX);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
