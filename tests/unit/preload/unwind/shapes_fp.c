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
