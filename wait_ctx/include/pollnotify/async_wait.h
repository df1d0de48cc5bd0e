/*
 * pollnotify wait context, C API: a one-to-one mirror of the wait-context part of OpenSSL 3's
 * <openssl/async.h> under a PN_ prefix (same signatures, same return values, same corner cases).
 *
 * Threads: the fd functions, new and free belong to the context's owner (one thread at a time,
 * as in OpenSSL). set_callback/get_callback/set_status/get_status may be called from any thread
 * at any time: an engine thread may set the status and a poller read the callback pair while the
 * owner changes it.
 *
 * Memory ordering: if thread X calls PN_ASYNC_WAIT_CTX_set_callback(ctx, f, a), a thread Y whose
 * get_callback returns f gets a (the pair is never torn), and sees everything X wrote before the
 * set_callback. If X calls set_status(ctx, s), everything X wrote before it is visible to Y after
 * a get_status that returns s.
 *
 * Differences from OpenSSL, all on input OpenSSL does not check: a NULL context, NULL count
 * pointer or NULL fd out-pointer returns 0 (OpenSSL dereferences it), and set_status with a value
 * outside 0..3 returns 0 and leaves the status unchanged.
 */
#ifndef POLLNOTIFY_ASYNC_WAIT_H
#define POLLNOTIFY_ASYNC_WAIT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_async_wait_ctx_st PN_ASYNC_WAIT_CTX;
typedef int PN_ASYNC_FD;
#define PN_BAD_ASYNC_FD (-1)

/* Small and nonblocking: it runs on the poller thread. */
typedef int (*PN_ASYNC_callback_fn)(void* arg);

/* The engine does not use the callback mechanism: the default for a new context. */
#define PN_ASYNC_STATUS_UNSUPPORTED 0
/* The request failed fatally: clean up the session. */
#define PN_ASYNC_STATUS_ERR 1
/* The request was submitted (or completed) successfully. */
#define PN_ASYNC_STATUS_OK 2
/* A recoverable problem (device full): resume the job so that it retries. */
#define PN_ASYNC_STATUS_EAGAIN 3

typedef void (*PN_ASYNC_fd_cleanup_fn)(PN_ASYNC_WAIT_CTX*, const void* key, PN_ASYNC_FD fd,
                                       void* custom_data);

/* Returns a context with status UNSUPPORTED and no callback, or NULL when out of memory. */
PN_ASYNC_WAIT_CTX* PN_ASYNC_WAIT_CTX_new(void);
/* Runs the cleanup routine of every fd entry not marked deleted, then frees. NULL is a no-op, and
 * so is a second free of a context not handed out again by PN_ASYNC_WAIT_CTX_new since.
 * Safe while a request for ctx is still in flight: the late completion is dropped and counted.
 * With a request in flight it first waits for the deliveries in progress on every poller (a
 * grace period: after it returns no callback of ctx runs): do not call it while holding a lock
 * that any callback takes, or it may deadlock. With nothing in flight it waits for nobody. From
 * inside a callback it never waits (a callback of ctx running on another thread may then still
 * run: free what it uses from outside callbacks). */
void PN_ASYNC_WAIT_CTX_free(PN_ASYNC_WAIT_CTX* ctx);
/* Adds an entry (a second one if key is already present; the newest wins). 1 ok, 0 error. */
int PN_ASYNC_WAIT_CTX_set_wait_fd(PN_ASYNC_WAIT_CTX* ctx, const void* key, PN_ASYNC_FD fd,
                                  void* custom_data, PN_ASYNC_fd_cleanup_fn cleanup);
/* The newest live entry for key. 0 if there is none. */
int PN_ASYNC_WAIT_CTX_get_fd(PN_ASYNC_WAIT_CTX* ctx, const void* key, PN_ASYNC_FD* fd,
                             void** custom_data);
/* Every live fd, newest first, into fd (may be NULL: count only); *numfds gets the count. */
int PN_ASYNC_WAIT_CTX_get_all_fds(PN_ASYNC_WAIT_CTX* ctx, PN_ASYNC_FD* fd, size_t* numfds);
/* Fds added and deleted since the job was last resumed. Either array may be NULL. */
int PN_ASYNC_WAIT_CTX_get_changed_fds(PN_ASYNC_WAIT_CTX* ctx, PN_ASYNC_FD* addfd, size_t* numaddfds,
                                      PN_ASYNC_FD* delfd, size_t* numdelfds);
/* Removes (if added since the last resume) or marks deleted the newest entry for key. Never
 * runs its cleanup routine. 0 for an unknown key. */
int PN_ASYNC_WAIT_CTX_clear_fd(PN_ASYNC_WAIT_CTX* ctx, const void* key);
/* Sets the pair atomically (callback NULL clears it). 0 for a NULL context. Any thread. */
int PN_ASYNC_WAIT_CTX_set_callback(PN_ASYNC_WAIT_CTX* ctx, PN_ASYNC_callback_fn callback,
                                   void* callback_arg);
/* 1 and the pair set together, or 0 (outputs untouched) when no callback is set. Any thread. */
int PN_ASYNC_WAIT_CTX_get_callback(PN_ASYNC_WAIT_CTX* ctx, PN_ASYNC_callback_fn* callback,
                                   void** callback_arg);
/* Any thread. 1 ok; 0 for a NULL context or a status outside 0..3. */
int PN_ASYNC_WAIT_CTX_set_status(PN_ASYNC_WAIT_CTX* ctx, int status);
/* Any thread. The status, or PN_ASYNC_STATUS_UNSUPPORTED for a NULL context. */
int PN_ASYNC_WAIT_CTX_get_status(PN_ASYNC_WAIT_CTX* ctx);

/* Beyond OpenSSL: reset the change counts as a job resume does, for code that uses the context
 * without jobs. 0 for a NULL context. Owner thread. */
int PN_ASYNC_WAIT_CTX_mark_resumed(PN_ASYNC_WAIT_CTX* ctx);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_ASYNC_WAIT_H */
