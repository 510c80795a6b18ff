#include "core/size.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

static int unit_shift(const char *u, unsigned int *shift)
{
	static const struct { const char *name; unsigned int shift; } units[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
		{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strcasecmp(u, units[i].name) == 0) {
			*shift = units[i].shift;
			return 0;
		}
	return -EINVAL;
}

int size__parse(const char *s, uint64_t *out)
{
	uint64_t value = 0;
	unsigned int shift;
	const char *p = s;

	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (value > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		value = value * 10 + (uint64_t)(*p - '0');
	}
	while (isspace((unsigned char)*p))
		p++;
	char unit[8];
	size_t n = strlen(p);
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	if (n >= sizeof(unit))
		return -EINVAL;
	memcpy(unit, p, n);
	unit[n] = '\0';
	if (unit_shift(unit, &shift) < 0)
		return -EINVAL;
	if (shift && value > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = value << shift;
	return 0;
}
