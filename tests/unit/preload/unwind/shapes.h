/* shapes.h: random call shapes for the stack walk's differential test (test_unwind.c).
 *
 * Each shape function does some work of its own, then calls the next one, picked at
 * random from every unit (frame pointers kept or omitted, alloca, large frames, C++,
 * a dlopen()ed library), until the depth is spent; the last one calls the probe, which
 * captures the stack both ways and compares. The units are compiled with different
 * flags (tests/tests.mk), so one stack mixes every kind of frame. */
#ifndef MEMPROF_TEST_UNWIND_SHAPES_H
#define MEMPROF_TEST_UNWIND_SHAPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shape_ctx;
typedef void (*shape_fn)(struct shape_ctx *ctx, int depth);

/* What a longjmp or a catch must put back: the jump and throw points in force. */
struct shape_state {
	void *jump;              /* jmp_buf of the innermost setjmp shape, or NULL */
	int longjmp_at;          /* depth at which to longjmp to it */
	int try_depth;           /* C++ try blocks around the current frame */
	int throw_at;            /* depth at which a C++ shape throws (-1: none) */
	int unwinding;           /* an exception is in flight: destructors probe */
};

struct shape_ctx {
	uint64_t rng;
	const shape_fn *fns;     /* the functions to pick from */
	int fn_count;
	void (*probe)(struct shape_ctx *ctx);
	uint64_t sink;           /* keeps the work from being optimized away */
	struct shape_state state;
	void *twist_to;          /* shape_fp_anchor's frame, or NULL */
};

static inline uint64_t shape_next(struct shape_ctx *ctx)
{
	ctx->rng ^= ctx->rng << 13;
	ctx->rng ^= ctx->rng >> 7;
	ctx->rng ^= ctx->rng << 17;
	return ctx->rng;
}

/* Calls the next shape, or the probe at depth 0. */
void shape_step(struct shape_ctx *ctx, int depth);

/* Frame-pointer unit (-fno-omit-frame-pointer). */
void shape_fp_plain(struct shape_ctx *ctx, int depth);
void shape_fp_alloca(struct shape_ctx *ctx, int depth);
void shape_fp_big(struct shape_ctx *ctx, int depth);
void shape_fp_anchor(struct shape_ctx *ctx, int depth);
void shape_fp_twist(struct shape_ctx *ctx, int depth);
/* No-frame-pointer unit (-fomit-frame-pointer). */
void shape_nofp_plain(struct shape_ctx *ctx, int depth);
void shape_nofp_alloca(struct shape_ctx *ctx, int depth);
void shape_nofp_big(struct shape_ctx *ctx, int depth);
void shape_nofp_regs(struct shape_ctx *ctx, int depth);
void shape_nofp_setjmp(struct shape_ctx *ctx, int depth);
void shape_twin_a(struct shape_ctx *ctx, int depth);
void shape_twin_b(struct shape_ctx *ctx, int depth);
/* C++ unit: destructors that probe while an exception unwinds, probes in catch blocks. */
void shape_cxx_raii(struct shape_ctx *ctx, int depth);
void shape_cxx_throw(struct shape_ctx *ctx, int depth);

#ifdef __cplusplus
}
#endif

#endif
