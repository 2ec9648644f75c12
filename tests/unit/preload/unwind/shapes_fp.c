/* shapes_fp.c: shapes compiled with frame pointers (-O2 -fno-omit-frame-pointer). */
#include <alloca.h>
#include <setjmp.h>
#include <string.h>

#include "shapes.h"

void shape_step(struct shape_ctx *ctx, int depth)
{
	if (ctx->state.jump && depth == ctx->state.longjmp_at) {
		ctx->probe(ctx);
		longjmp(*(jmp_buf *)ctx->state.jump, 1);
	}
	if (depth <= 0)
		ctx->probe(ctx);
	else
		ctx->fns[shape_next(ctx) % (uint64_t)ctx->fn_count](ctx, depth - 1);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((noinline)) void shape_fp_plain(struct shape_ctx *ctx, int depth)
{
	uint64_t local = shape_next(ctx);
	shape_step(ctx, depth);
	ctx->sink += local;
}

__attribute__((noinline)) void shape_fp_alloca(struct shape_ctx *ctx, int depth)
{
	size_t bytes = 16 + shape_next(ctx) % 512;
	volatile char *buffer = alloca(bytes);
	buffer[0] = 1;
	shape_step(ctx, depth);
	ctx->sink += buffer[0];
}

__attribute__((noinline)) void shape_fp_big(struct shape_ctx *ctx, int depth)
{
	volatile char buffer[20000];
	buffer[shape_next(ctx) % sizeof(buffer)] = 1;
	shape_step(ctx, depth);
	ctx->sink += buffer[7];
}

/* The frame of twist_to for the twists below it. */
__attribute__((noinline)) void shape_fp_anchor(struct shape_ctx *ctx, int depth)
{
	void *outer = ctx->twist_to;
	ctx->twist_to = __builtin_frame_address(0);
	shape_step(ctx, depth);
	ctx->twist_to = outer;
}

/* Sometimes points the caller's saved frame pointer at the anchor's frame while the
 * probe runs, and puts it back before returning: the caller's CFA, computed from rbp,
 * then lands on the anchor's, and the walk skips the frames between. Same return
 * addresses in the same places, another stack: only the saved rbp tells them apart.
 * (No longjmp or exception may cross it.) */
__attribute__((noinline)) void shape_fp_twist(struct shape_ctx *ctx, int depth)
{
	void *volatile *slot = __builtin_frame_address(0);
	void *saved = *slot;
	int twist = ctx->twist_to && (shape_next(ctx) & 1);
	if (twist)
		*slot = ctx->twist_to;
	shape_step(ctx, depth);
	*slot = saved; /* also keeps the call from being a jump: one call site either way */
}
