/* shapes_nofp.c: shapes compiled without frame pointers (-O2 -fomit-frame-pointer): rbp
 * is an ordinary callee-saved register here, saved and restored like the others. */
#include <alloca.h>
#include <setjmp.h>
#include <string.h>

#include "shapes.h"

__attribute__((noinline)) void shape_nofp_plain(struct shape_ctx *ctx, int depth)
{
	uint64_t local = shape_next(ctx);
	shape_step(ctx, depth);
	ctx->sink ^= local;
}

/* alloca: the compiler sets up rbp as a frame pointer anyway, the CFA is rbp-based. */
__attribute__((noinline)) void shape_nofp_alloca(struct shape_ctx *ctx, int depth)
{
	size_t bytes = 16 + shape_next(ctx) % 4096;
	volatile char *buffer = alloca(bytes);
	buffer[bytes - 1] = 2;
	shape_step(ctx, depth);
	ctx->sink += buffer[bytes - 1];
}

/* A frame of 70 KB: the CFA is rsp plus an offset beyond 16 bits. */
__attribute__((noinline)) void shape_nofp_big(struct shape_ctx *ctx, int depth)
{
	volatile char buffer[70000];
	buffer[shape_next(ctx) % sizeof(buffer)] = 3;
	shape_step(ctx, depth);
	ctx->sink += buffer[11];
}

/* Every callee-saved register live across the call, rbp among them: the rule restores
 * rbp from the stack, and the value that reaches the caller is this frame's. */
__attribute__((noinline)) void shape_nofp_regs(struct shape_ctx *ctx, int depth)
{
	uint64_t a = shape_next(ctx), b = a * 3, c = a ^ 77, d = a + 5, e = a * 7, f = a - 9;
	__asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f));
	shape_step(ctx, depth);
	__asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f));
	ctx->sink += a + b + c + d + e + f;
}

/* Sets a jump point; somewhere below, the probe longjmps back to it out of the deep
 * recursion, leaving the abandoned frames' words on the stack. */
__attribute__((noinline)) void shape_nofp_setjmp(struct shape_ctx *ctx, int depth)
{
	jmp_buf here;
	struct shape_state outer = ctx->state;
	if (setjmp(here) == 0) {
		ctx->state.jump = &here;
		ctx->state.longjmp_at = (int)(shape_next(ctx) % (uint64_t)(depth + 1));
		shape_step(ctx, depth);
	}
	ctx->state = outer;
	__asm__ volatile("" ::: "memory");
}

/* Twins: the same code at two addresses, so stacks through either have the same frames
 * at the same places and differ only in the return addresses they hold. */
__attribute__((noinline)) void shape_twin_a(struct shape_ctx *ctx, int depth)
{
	uint64_t local = shape_next(ctx);
	shape_step(ctx, depth);
	ctx->sink += local;
}

__attribute__((noinline)) void shape_twin_b(struct shape_ctx *ctx, int depth)
{
	uint64_t local = shape_next(ctx);
	shape_step(ctx, depth);
	ctx->sink += local;
}
