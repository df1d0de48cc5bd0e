/*
 * OpenSSL's async names mapped onto pollnotify's: code written against <openssl/async.h> compiles
 * unchanged against pollnotify when it includes this header instead. Do not include it in the same
 * translation unit as <openssl/async.h>: the names would collide.
 */
#ifndef POLLNOTIFY_OPENSSL_NAMES_H
#define POLLNOTIFY_OPENSSL_NAMES_H

#include "pollnotify/async_job.h"
#include "pollnotify/async_wait.h"

#if defined(OSSL_ASYNC_H) || defined(HEADER_ASYNC_H)
#error "pollnotify/openssl_names.h replaces <openssl/async.h>: include one or the other"
#endif

#define ASYNC_WAIT_CTX PN_ASYNC_WAIT_CTX
#define ASYNC_JOB PN_ASYNC_JOB
#define OSSL_ASYNC_FD PN_ASYNC_FD
#define OSSL_BAD_ASYNC_FD PN_BAD_ASYNC_FD
#define ASYNC_callback_fn PN_ASYNC_callback_fn

#define ASYNC_STATUS_UNSUPPORTED PN_ASYNC_STATUS_UNSUPPORTED
#define ASYNC_STATUS_ERR PN_ASYNC_STATUS_ERR
#define ASYNC_STATUS_OK PN_ASYNC_STATUS_OK
#define ASYNC_STATUS_EAGAIN PN_ASYNC_STATUS_EAGAIN

#define ASYNC_ERR PN_ASYNC_ERR
#define ASYNC_NO_JOBS PN_ASYNC_NO_JOBS
#define ASYNC_PAUSE PN_ASYNC_PAUSE
#define ASYNC_FINISH PN_ASYNC_FINISH

#define ASYNC_WAIT_CTX_new PN_ASYNC_WAIT_CTX_new
#define ASYNC_WAIT_CTX_free PN_ASYNC_WAIT_CTX_free
#define ASYNC_WAIT_CTX_set_wait_fd PN_ASYNC_WAIT_CTX_set_wait_fd
#define ASYNC_WAIT_CTX_get_fd PN_ASYNC_WAIT_CTX_get_fd
#define ASYNC_WAIT_CTX_get_all_fds PN_ASYNC_WAIT_CTX_get_all_fds
#define ASYNC_WAIT_CTX_get_changed_fds PN_ASYNC_WAIT_CTX_get_changed_fds
#define ASYNC_WAIT_CTX_clear_fd PN_ASYNC_WAIT_CTX_clear_fd
#define ASYNC_WAIT_CTX_set_callback PN_ASYNC_WAIT_CTX_set_callback
#define ASYNC_WAIT_CTX_get_callback PN_ASYNC_WAIT_CTX_get_callback
#define ASYNC_WAIT_CTX_set_status PN_ASYNC_WAIT_CTX_set_status
#define ASYNC_WAIT_CTX_get_status PN_ASYNC_WAIT_CTX_get_status

#define ASYNC_init_thread PN_ASYNC_init_thread
#define ASYNC_cleanup_thread PN_ASYNC_cleanup_thread
#define ASYNC_start_job PN_ASYNC_start_job
#define ASYNC_pause_job PN_ASYNC_pause_job
#define ASYNC_get_current_job PN_ASYNC_get_current_job
#define ASYNC_get_wait_ctx PN_ASYNC_get_wait_ctx
#define ASYNC_block_pause PN_ASYNC_block_pause
#define ASYNC_unblock_pause PN_ASYNC_unblock_pause
#define ASYNC_is_capable PN_ASYNC_is_capable

#endif /* POLLNOTIFY_OPENSSL_NAMES_H */
