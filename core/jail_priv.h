/* Inside the jail (core/jail*.c). */
#ifndef MV_JAIL_PRIV_H
#define MV_JAIL_PRIV_H

#include "core/jail.h"

/* Opens path (flags | O_CLOEXEC) and keeps it for owner's boots; what
 * names it in errors ("kernel", "disks[1]"). */
int jail_fds__keep(const struct mv_vm *owner, const char *what, const char *path, int flags,
		   struct mv_err *err) MV_MUST_CHECK;
/* Closes what was kept for owner. */
void jail_fds__forget(const struct mv_vm *owner);
/* Closes the descriptors noted by jail__note_inherited_fds. */
void jail_fds__close_inherited(void);

#endif
