/*
 * pollnotify's C error convention, for every C header: a function returns 1 on success and 0 on
 * failure (NULL for one that returns a pointer), and after a failure PN_get_last_error() says
 * why, for the calling thread. The PN_ASYNC_* functions follow OpenSSL's own conventions (their
 * return values are OpenSSL's) and set no message.
 */
#ifndef POLLNOTIFY_ERROR_H
#define POLLNOTIFY_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* The calling thread's last error message from pollnotify's C API, or "" (never NULL). Valid
 * until the thread's next pollnotify call. */
const char* PN_get_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_ERROR_H */
