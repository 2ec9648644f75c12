// shapes_cxx.cc: C++ shapes: a destructor that probes while an exception unwinds through
// its frame, and probes from catch blocks.
#include <stdexcept>

#include "shapes.h"

namespace {
struct guard {
	shape_ctx *ctx;
	~guard()
	{
		// Runs in the landing pad while the exception is in flight.
		if (ctx->state.unwinding)
			ctx->probe(ctx);
	}
};
}

extern "C" __attribute__((noinline)) void shape_cxx_raii(shape_ctx *ctx, int depth)
{
	guard keep{ctx};
	if (ctx->state.try_depth > 0 && depth == ctx->state.throw_at) {
		ctx->state.unwinding = 1; // every guard up to the catch now probes
		throw std::runtime_error("shape");
	}
	shape_step(ctx, depth);
	ctx->sink += depth;
}

extern "C" __attribute__((noinline)) void shape_cxx_throw(shape_ctx *ctx, int depth)
{
	shape_state outer = ctx->state;
	ctx->state.try_depth++;
	ctx->state.throw_at = (int)(shape_next(ctx) % (uint64_t)(depth + 1));
	try {
		shape_step(ctx, depth);
	} catch (const std::exception &error) {
		ctx->state = outer; // a longjmp point below is gone with its frame
		ctx->probe(ctx);    // inside the catch: the exception object is still alive
		ctx->sink += error.what()[0];
	}
	ctx->state = outer;
}
