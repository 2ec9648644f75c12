/* shapes_lib.c: shapes in a library that the test dlopen()s and dlclose()s; built twice
 * (SHAPES_LIB_VARIANT 1 and 2) so that another library's code can take its place. */
#include <alloca.h>

#include "shapes.h"

#if SHAPES_LIB_VARIANT == 2
#define PAD 37 /* different frame sizes at the same addresses */
#else
#define PAD 1
#endif

__attribute__((noinline)) void shape_lib_plain(struct shape_ctx *ctx, int depth)
{
	volatile char pad[PAD * 8];
	pad[0] = (char)depth;
	if (depth <= 0)
		ctx->probe(ctx);
	else
		ctx->fns[shape_next(ctx) % (uint64_t)ctx->fn_count](ctx, depth - 1);
	ctx->sink += pad[0];
}

__attribute__((noinline)) void shape_lib_alloca(struct shape_ctx *ctx, int depth)
{
	volatile char *buffer = alloca(PAD * 16 + shape_next(ctx) % 64);
	buffer[0] = 1;
	if (depth <= 0)
		ctx->probe(ctx);
	else
		ctx->fns[shape_next(ctx) % (uint64_t)ctx->fn_count](ctx, depth - 1);
	ctx->sink += buffer[0];
}
