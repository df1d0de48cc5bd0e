/*
 * pollnotify's C error convention: one rule for every pollnotify call in <pollnotify/poller.h>,
 * <pollnotify/runtime.h>, <pollnotify/completion.h> and <pollnotify/sim_runtime.h>, and for the
 * functions a C device table provides (<pollnotify/device.h>). liburing's and DPDK's rule:
 *
 *   1. A call that can fail returns an int: 0, or a count where its header says so, on success;
 *      a negative errno value on failure. The values, the same meaning everywhere:
 *        -EINVAL     a bad argument: NULL, a value out of range, an options struct_size unknown
 *        -EBUSY      the object's state refuses the call: running, not running, or called from
 *                    inside one of the object's own callbacks
 *        -EAGAIN     full: nothing was done, try again later (a ring, a device at capacity)
 *        -ENOSPC     a documented limit reached (rings, poll sources, devices)
 *        -ENOENT     not found where the call looks (a poll source not added to this poller)
 *        -ENOMEM     out of memory
 *        -EIO        the device failed the request
 *        -ETIMEDOUT  a bounded wait ended with work left (the call still did its part)
 *      and the operating system's own value where it refused (a thread not created or pinned).
 *   2. A call that returns a pointer or a ticket returns NULL or 0 on failure: no valid pointer
 *      is NULL and no valid ticket is 0 (generations start at 1).
 *   3. Every failure in 1 and 2 records, for the calling thread, a message
 *      (PN_get_last_error()) and its negative errno value (PN_get_last_error_code()). A success
 *      leaves both unchanged, so read them only after a failure; PN_clear_last_error() resets
 *      them.
 *   4. A call that cannot fail returns void or a value (an _init, a getter, abandon, notify) and
 *      treats NULL as empty: a getter of a count returns 0, the others do nothing. A free function
 *      is void and NULL-safe; refused (called from inside the object's own callback) it frees
 *      nothing and records -EBUSY.
 *
 * The exceptions: the functions under OpenSSL's names (PN_ASYNC_* from <pollnotify/async_wait.h>
 * and <pollnotify/async_job.h>) keep OpenSSL's return values and record nothing; a device's
 * submit also sets its wait context's status (PN_ASYNC_STATUS_*) for OpenSSL-style callers.
 */
#ifndef POLLNOTIFY_ERROR_H
#define POLLNOTIFY_ERROR_H

#include <errno.h> /* the E* values the calls return, negated */

#ifdef __cplusplus
extern "C" {
#endif

/* The calling thread's last failure, as a message; "" (never NULL) if none was recorded. The
 * pointer stays valid until the thread's next failure or PN_clear_last_error(). */
const char* PN_get_last_error(void);
/* The calling thread's last failure as a negative errno value; 0 if none was recorded. */
int PN_get_last_error_code(void);
/* Forgets the calling thread's last failure. */
void PN_clear_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_ERROR_H */
