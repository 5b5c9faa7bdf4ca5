// Each JavaScript thread's stream of kernel calls (stream.c). The kernels a training step runs
// are exported twice: `gemm` runs before it returns (after anything queued), `queued.gemm`
// checks its arguments at once (and throws there), then queues its work, which runs in call
// order on the stream's own thread while JavaScript goes on (tfjs's bookkeeping, the next
// kernels' set-up). JavaScript sees those results after sync(), which the native-blas backend
// calls before it reads or writes any array a queued call may still use
// (src-main/node/ml/native/backend.ts). With the stream off (CELLSHIFT_STREAM=0,
// setStream(false)) queued.* run at once too.
#ifndef CELLSHIFT_STREAM_H
#define CELLSHIFT_STREAM_H

#include <stddef.h>

#include "args.h"
#include "kernels.h"

/** A queued call's work; returns NULL, or a message when it failed (reported by the next sync()). */
typedef const char *(*task_fn)(void *ctx);

/**
 * Runs run(ctx) now (after anything queued), or queues it on this thread's stream when the call
 * came through queued.* and the stream is on, keeping every object argument of the
 * call alive until it has run. ctx comes from malloc; release(ctx) (free when NULL) follows run.
 * Returns NULL (for the Node-API function to return), having thrown if run failed at once.
 */
napi_value stream_submit(const Args *args, task_fn run, void *ctx, void (*release)(void *));

/**
 * parallel_for(fn, job, n, grain) on the stream, over a copy of the `size` bytes at job; when
 * failed_at is not negative, the int at that offset in the job set by fn means "out of memory".
 */
napi_value stream_loop(const Args *args, range_fn fn, const void *job, size_t size, int64_t n, int64_t grain, ptrdiff_t failed_at);

/** Waits until this thread's stream has run every queued call; returns 0 after throwing an earlier call's failure. */
int stream_drain(napi_env env);

/** Creates this thread's stream and exports sync() and setStream(on). */
void stream_register(napi_env env, napi_value exports);

/** Exports `name` (runs at once) and queued.`name` (may be queued). */
void stream_export(napi_env env, napi_value exports, const char *name, napi_callback callback);

/** Whether this thread's calls are queued (for info()). */
int stream_enabled(napi_env env);

#endif
