/* unwind_rules.c: the unwind rule of one return address, compiled from .eh_frame.
 *
 * This is the part of libunwind 1.6 (src/dwarf/Gfind_proc_info-lsb.c, Gfde.c, Gparser.c,
 * src/x86_64/Gstash_frame.c) that its fast path tdep_trace runs the first time it meets a
 * return address: find the loaded object and its FDE through the .eh_frame_hdr search
 * table, run the CIE's and the FDE's call frame instructions up to ra - 1, and classify
 * the row. Only the rows libunwind classifies as standard or as the last frame are
 * reproduced, with its very limits; everything else (DWARF expressions, signal frames,
 * registers saved in registers, augmentations or encodings out of the common set, no
 * search table, malformed data) is OTHER, and the walker lets libunwind decide those.
 * Being stricter than libunwind costs speed, never exactness.
 *
 * Every byte is read within the PT_LOAD segment that holds the object's eh_frame_hdr, and
 * the work runs inside dl_iterate_phdr, so the object cannot be unloaded meanwhile.
 */
#include <link.h>
#include <string.h>

#include "unwind.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
#define REG_COUNT 17 /* libunwind's DWARF_NUM_PRESERVED_REGS on x86_64 */
#define STATE_STACK_MAX 16

enum where { WHERE_UNDEF, WHERE_SAME, WHERE_CFAREL, WHERE_REG, WHERE_EXPR, WHERE_VAL_EXPR };

struct row {
	uint8_t where[REG_COUNT];
	int64_t value[REG_COUNT];
	uint8_t cfa_where;  /* WHERE_REG or WHERE_EXPR; WHERE_SAME before any definition */
	uint64_t cfa_reg;
	int64_t cfa_offset;
};

/* Bytes of one segment, read with bounds; any read past them sets bad. at stays within
 * [start, end] (reader_seek), so a read needs one comparison. */
struct reader {
	const uint8_t *at, *start, *end;
	int bad;
};

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_encoding, lsda_encoding;
	int sized;  /* 'z': augmentation data has a length */
	const uint8_t *instructions, *end;
};

/* The addresses that share the rule found: the row of the FDE's program that holds at pc
 * holds from low to high (0, 0: not known). */
struct row_range {
	uint64_t low, high;
};

struct query {
	uintptr_t pc;
	struct mp_unwind_rule *out;
	struct row_range range;
};

/* The readers are inline: run_program keeps its reader in a local, and a call that took
 * its address made the compiler reload it after every store into the row (a byte store
 * may alias anything). */
#define READER_INLINE static inline __attribute__((always_inline))

/* Moves to, if it lies within the segment; else sets bad and moves to the end, where
 * every read fails. */
READER_INLINE void reader_seek(struct reader *r, const uint8_t *to)
{
	if (to < r->start || to > r->end) {
		r->bad = 1;
		to = r->end;
	}
	r->at = to;
}

READER_INLINE uint64_t read_fixed(struct reader *r, size_t bytes)
{
	if (MP_UNLIKELY((size_t)(r->end - r->at) < bytes)) {
		r->bad = 1;
		return 0;
	}
	uint64_t value = 0;
	memcpy(&value, r->at, bytes); /* little-endian */
	r->at += bytes;
	return value;
}

READER_INLINE uint8_t read_byte(struct reader *r)
{
	if (MP_UNLIKELY(r->at == r->end)) {
		r->bad = 1;
		return 0;
	}
	return *r->at++;
}

READER_INLINE void skip(struct reader *r, uint64_t bytes)
{
	if ((uint64_t)(r->end - r->at) < bytes)
		r->bad = 1;
	else
		r->at += bytes;
}

/* A failed read gives 0, which ends the number. */
READER_INLINE uint64_t read_uleb(struct reader *r)
{
	uint64_t value = 0;
	for (unsigned shift = 0;; shift += 7) {
		uint8_t byte = read_byte(r);
		if (shift < 64)
			value |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return value;
	}
}

READER_INLINE int64_t read_sleb(struct reader *r)
{
	uint64_t value = 0;
	unsigned shift = 0;
	uint8_t byte;
	do {
		byte = read_byte(r);
		if (shift < 64)
			value |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	if (shift < 64 && (byte & 0x40))
		value |= ~(uint64_t)0 << shift;
	return (int64_t)value;
}

/* A pointer in one of the encodings compilers emit in .eh_frame (DW_EH_PE_*): absolute or
 * pc-relative, fixed-size or LEB128, optionally indirect (then the address of the pointer
 * is returned: the callers only skip such fields). Anything else sets bad, as libunwind
 * would fail or compute with a base we do not have. 0xff (omit) reads nothing. */
READER_INLINE uint64_t read_encoded(struct reader *r, uint8_t encoding)
{
	if (encoding == 0xff)
		return 0;
	uint64_t base = (encoding & 0x70) == 0x10 ? (uint64_t)(uintptr_t)r->at : 0;
	if ((encoding & 0x70) != 0 && (encoding & 0x70) != 0x10) {
		r->bad = 1;
		return 0;
	}
	uint64_t value;
	switch (encoding & 0x0f) {
	case 0x00: value = read_fixed(r, 8); break;
	case 0x01: value = read_uleb(r); break;
	case 0x02: value = read_fixed(r, 2); break;
	case 0x03: value = read_fixed(r, 4); break;
	case 0x04: value = read_fixed(r, 8); break;
	case 0x09: value = (uint64_t)read_sleb(r); break;
	case 0x0a: value = (uint64_t)(int64_t)(int16_t)read_fixed(r, 2); break;
	case 0x0b: value = (uint64_t)(int64_t)(int32_t)read_fixed(r, 4); break;
	case 0x0c: value = read_fixed(r, 8); break;
	default: r->bad = 1; return 0;
	}
	return base + value;
}

/* The CIE at cie (libunwind's parse_cie, for the augmentations "", "z", "zR", "zPLR" and
 * the like; 'S', signal frames, and anything unknown make it unusable). */
static int parse_cie(const struct reader *segment, const uint8_t *cie, struct cie *out)
{
	struct reader r = *segment;
	reader_seek(&r, cie);
	uint64_t length = read_fixed(&r, 4);
	if (r.bad || length == 0 || length >= 0xfffffff0u || length > (uint64_t)(segment->end - cie) - 4)
		return -1; /* not a CIE, or the 64-bit format that no compiler emits here */
	if (read_fixed(&r, 4) != 0)
		return -1;
	out->end = cie + 4 + length;
	uint8_t version = (uint8_t)read_fixed(&r, 1);
	if (version != 1 && version != 3)
		return -1;
	char augmentation[8];
	size_t len = 0;
	for (;;) {
		char ch = (char)read_fixed(&r, 1);
		if (r.bad || ch == 0)
			break;
		if (len >= sizeof(augmentation) - 1)
			return -1;
		augmentation[len++] = ch;
	}
	augmentation[len] = 0;
	out->code_align = read_uleb(&r);
	out->data_align = read_sleb(&r);
	uint64_t ra_column = version == 1 ? read_fixed(&r, 1) : read_uleb(&r);
	if (r.bad || ra_column != REG_RA)
		return -1;
	out->fde_encoding = 0x00; /* DW_EH_PE_absptr, address-sized */
	out->lsda_encoding = 0xff;
	out->sized = augmentation[0] == 'z';
	const uint8_t *data_end = NULL;
	if (out->sized) {
		uint64_t size = read_uleb(&r);
		if (r.bad || size > (uint64_t)(segment->end - r.at))
			return -1;
		data_end = r.at + size;
	}
	for (size_t i = out->sized ? 1 : 0; i < len; i++) {
		switch (augmentation[i]) {
		case 'L': out->lsda_encoding = (uint8_t)read_fixed(&r, 1); break;
		case 'R': out->fde_encoding = (uint8_t)read_fixed(&r, 1); break;
		case 'P': {
			uint8_t encoding = (uint8_t)read_fixed(&r, 1);
			read_encoded(&r, encoding == 0xff ? 0xff : encoding & 0x7f);
			break;
		}
		default: return -1; /* 'S' (signal frame) included */
		}
	}
	if (data_end && r.at != data_end)
		return -1;
	if (r.bad || out->end > segment->end || r.at > out->end)
		return -1;
	out->instructions = r.at;
	return 0;
}

static int valid_reg(uint64_t reg)
{
	return reg < REG_COUNT;
}

static void set_reg(struct row *row, uint64_t reg, enum where where, int64_t value)
{
	row->where[reg] = (uint8_t)where;
	row->value[reg] = value;
}

/* Where a run of call frame instructions stands: the next one, the location it applies
 * from, the rows remember_state keeps; set_loc: one was run (locations may go back).
 * row_start: the location the row it stopped with holds from (see run_program). */
struct run {
	struct reader in;
	uint64_t location, row_start;
	int depth, set_loc;
	struct row stack[STATE_STACK_MAX];
};

/* A run from `at` in segment (its stack of rows is left as it is: 3 KiB). */
static void run_start(struct run *run, const struct reader *segment, const uint8_t *at,
		      uint64_t location)
{
	run->in = *segment;
	run->in.at = at;
	run->location = location;
	run->row_start = location;
	run->depth = 0;
	run->set_loc = 0;
}

/* Runs call frame instructions [run->in.at, end) on row while the location stays <= pc
 * (libunwind's run_cfi_program, op for op); run then stands where it stopped (its reader
 * and location kept in locals meanwhile). Returns 0, or -1 where libunwind fails or where
 * it would read an op it does not know as no op at all (DW_CFA_val_offset and the like).
 * The row it leaves holds for every pc from run->row_start to run->location, the
 * location the program went past pc with (if it did not end first): the advance before
 * each row is where that row starts, one register move an advance. */
static int run_program(struct run *run, const uint8_t *end, const struct cie *cie,
		       uint64_t pc, struct row *row, const struct row *initial)
{
	struct reader in = run->in;
	struct reader *r = &in;
	uint64_t location = run->location, before = run->row_start;
	for (;;) {
		/* advance_loc and a one-byte def_cfa_offset, the ops compilers emit at every push
		 * and pop, so most of a large function's program: read here without the general
		 * dispatch and its checks (both lie whole before end, and end is within the
		 * segment). cc1's learns ran 200 ops each, 27 instructions an op. */
		const uint8_t *at = r->at;
		while (location <= pc && at < end) {
			if ((*at & 0xc0) == 0x40) {
				before = location;
				location += (uint64_t)(*at & 0x3f) * cie->code_align;
				at++;
			} else if (*at == 0x0e && end - at >= 2 && at[1] < 0x80) {
				row->cfa_offset = at[1];
				at += 2;
			} else {
				break;
			}
		}
		r->at = at;
		if (!(location <= pc && r->at < end))
			break;
		uint8_t op = read_byte(r);
		uint64_t operand = op & 0x3f, reg, value;
		if (op & 0xc0)
			op &= 0xc0;
		switch (op) {
		case 0x40: /* advance_loc */
			before = location;
			location += operand * cie->code_align;
			break;
		case 0x02:
			before = location;
			location += read_fixed(r, 1) * cie->code_align;
			break;
		case 0x03:
			before = location;
			location += read_fixed(r, 2) * cie->code_align;
			break;
		case 0x04:
			before = location;
			location += read_fixed(r, 4) * cie->code_align;
			break;
		case 0x80: /* offset */
			value = read_uleb(r);
			if (!valid_reg(operand))
				return -1;
			set_reg(row, operand, WHERE_CFAREL, (int64_t)value * cie->data_align);
			break;
		case 0x05: /* offset_extended */
		case 0x11: /* offset_extended_sf */
		case 0x2f: /* GNU_negative_offset_extended */
			reg = read_uleb(r);
			if (!valid_reg(reg))
				return -1;
			if (op == 0x05)
				set_reg(row, reg, WHERE_CFAREL, (int64_t)read_uleb(r) * cie->data_align);
			else if (op == 0x11)
				set_reg(row, reg, WHERE_CFAREL, read_sleb(r) * cie->data_align);
			else
				set_reg(row, reg, WHERE_CFAREL, -((int64_t)read_uleb(r) * cie->data_align));
			break;
		case 0xc0: /* restore */
		case 0x06: /* restore_extended */
			reg = op == 0xc0 ? operand : read_uleb(r);
			if (!valid_reg(reg) || !initial)
				return -1;
			set_reg(row, reg, initial->where[reg], initial->value[reg]);
			break;
		case 0x00: break; /* nop */
		case 0x01: /* set_loc */
			location = read_encoded(r, cie->fde_encoding);
			run->set_loc = 1;
			break;
		case 0x07: /* undefined */
		case 0x08: /* same_value */
			reg = read_uleb(r);
			if (!valid_reg(reg))
				return -1;
			set_reg(row, reg, op == 0x07 ? WHERE_UNDEF : WHERE_SAME, 0);
			break;
		case 0x09: /* register */
			reg = read_uleb(r);
			value = read_uleb(r);
			if (!valid_reg(reg))
				return -1;
			set_reg(row, reg, WHERE_REG, (int64_t)value);
			break;
		case 0x0a: /* remember_state */
			if (run->depth == STATE_STACK_MAX)
				return -1;
			run->stack[run->depth++] = *row;
			break;
		case 0x0b: /* restore_state */
			if (run->depth == 0)
				return -1;
			*row = run->stack[--run->depth];
			break;
		case 0x0c: /* def_cfa */
		case 0x12: /* def_cfa_sf */
			reg = read_uleb(r);
			if (!valid_reg(reg))
				return -1;
			row->cfa_where = WHERE_REG;
			row->cfa_reg = reg;
			row->cfa_offset = op == 0x0c ? (int64_t)read_uleb(r) : read_sleb(r) * cie->data_align;
			break;
		case 0x0d: /* def_cfa_register */
			reg = read_uleb(r);
			if (!valid_reg(reg))
				return -1;
			row->cfa_where = WHERE_REG;
			row->cfa_reg = reg;
			break;
		case 0x0e: row->cfa_offset = (int64_t)read_uleb(r); break; /* def_cfa_offset */
		case 0x13: row->cfa_offset = read_sleb(r) * cie->data_align; break;
		case 0x0f: /* def_cfa_expression */
			row->cfa_where = WHERE_EXPR;
			skip(r, read_uleb(r));
			break;
		case 0x10: /* expression */
		case 0x16: /* val_expression */
			reg = read_uleb(r);
			if (!valid_reg(reg))
				return -1;
			set_reg(row, reg, op == 0x10 ? WHERE_EXPR : WHERE_VAL_EXPR, 0);
			skip(r, read_uleb(r));
			break;
		case 0x2e: read_uleb(r); break; /* GNU_args_size */
		default: return -1;
		}
		if (r->bad)
			return -1;
	}
	run->in = in;
	run->location = location;
	/* Stopped by an advance past pc: the row began where that advance started from.
	 * Ended with the program: it began at the last advance's end. */
	run->row_start = location > pc ? before : location;
	return 0;
}

/* libunwind's tdep_stash_frame and the last-frame test of unw_step, for a row with no
 * DWARF expression and no register kept in another register (those are OTHER: libunwind
 * may fail evaluating them, and such frames are rare). */
static void classify(const struct row *row, struct mp_unwind_rule *out)
{
	out->kind = MP_UNWIND_OTHER;
	for (int reg = 0; reg < REG_COUNT; reg++) {
		if (row->where[reg] == WHERE_REG || row->where[reg] == WHERE_EXPR ||
		    row->where[reg] == WHERE_VAL_EXPR)
			return;
	}
	if (row->cfa_where != WHERE_REG || (row->cfa_reg != REG_RSP && row->cfa_reg != REG_RBP))
		return;
	if (row->where[REG_RA] == WHERE_UNDEF || row->where[REG_RBP] == WHERE_UNDEF) {
		out->kind = MP_UNWIND_LAST;
		return;
	}
	int64_t limit = 1 << 14;
	for (int reg = REG_RBP; reg <= REG_RSP; reg++) {
		if (row->where[reg] == WHERE_CFAREL &&
		    (row->value[reg] <= -limit || row->value[reg] >= limit || row->value[reg] == -1))
			return;
	}
	if (row->cfa_offset <= -(1 << 28) || row->cfa_offset >= (1 << 28) ||
	    row->where[REG_RA] != WHERE_CFAREL || row->value[REG_RA] != -8)
		return;
	out->kind = MP_UNWIND_STANDARD;
	out->cfa_on_rsp = row->cfa_reg == REG_RSP;
	out->cfa_offset = (int32_t)row->cfa_offset;
	out->rbp_saved = row->where[REG_RBP] == WHERE_CFAREL;
	out->rbp_offset = out->rbp_saved ? (int32_t)row->value[REG_RBP] : 0;
}

/* Checkpoints of long programs. A row at pc is the program run from the FDE's start
 * while the location is at most pc, and a few functions have most of the work: of cc1's
 * 6315 rules learned, 190 were in one function whose FDE program is 20 KiB, 89% of the
 * bytes run in all. So the first rule of an FDE whose program is CHECKPOINT_MIN_PROGRAM
 * bytes or more runs it whole once and keeps the run's state every CHECKPOINT_STRIDE
 * bytes (where no remember_state is pending), and each rule in it runs from the last
 * checkpoint at or below its pc: the same row, as locations only grow (an FDE with a
 * set_loc is not kept). Learning runs inside dl_iterate_phdr, which holds the loader's
 * lock, and the lock of what is kept (below) is only tried: a thread that finds it taken
 * runs the program from its start. An FDE's checkpoints are listed only once all are
 * written, so a fork child, which frees the lock, finds them whole or not at all.
 * callgrind on cc1: run_program's instructions 19.5M -> 8.1M, 81 fewer a capture (5.7% of
 * memprof's). */
#define CHECKPOINT_MIN_PROGRAM 1024u
#define CHECKPOINT_STRIDE 128u
#define CHECKPOINT_FDES 64u
#define CHECKPOINT_ARENA_BYTES (256u << 10)

struct checkpoint {
	const uint8_t *at;
	uint64_t location;
	struct row row;
};

struct checkpoint_fde {
	const uint8_t *fde;
	uint32_t first, count; /* count 0: not kept (set_loc, no room, bad data) */
};

/* The CIEs met so far: their fields and the row their initial instructions make, which
 * every FDE of theirs starts from. cc1's 6308 rules learned came from 2391 FDEs and 6
 * CIEs, each parsed and run again at every rule: ~400 instructions of the ~2900 a rule
 * took. */
#define KEPT_CIES 16u

struct kept_cie {
	const uint8_t *at;
	struct cie cie;
	struct row initial;
};

#define UNKNOWN_SUBS (~0ull) /* the loader does not count unloads: nothing is kept */

/* What learning keeps between rules, under lock (only tried: a thread that finds it taken
 * learns without). Rows and CIEs point into the objects' segments: all are dropped when
 * an object is unloaded (the loader's count of unloads moved). */
static struct {
	int lock;
	int off;                 /* tests: every program runs from its start */
	unsigned long long subs; /* the loader's count of unloads they hold for */
	struct checkpoint *arena; /* CHECKPOINT_ARENA_BYTES, mapped when first needed */
	uint32_t used;
	uint32_t fde_count;
	struct checkpoint_fde fdes[CHECKPOINT_FDES];
	uint32_t cie_count;
	struct kept_cie cies[KEPT_CIES];
} kept;

/* Takes the lock if it is free and learning keeps anything; 1 if taken. */
static int kept_lock(unsigned long long subs)
{
	if (kept.off || subs == UNKNOWN_SUBS ||
	    __atomic_exchange_n(&kept.lock, 1, __ATOMIC_ACQUIRE))
		return 0;
	if (kept.subs != subs) {
		kept.subs = subs;
		kept.used = 0;
		kept.fde_count = 0;
		kept.cie_count = 0;
	}
	return 1;
}

static void kept_unlock(void)
{
	__atomic_store_n(&kept.lock, 0, __ATOMIC_RELEASE);
}

#define CHECKPOINT_ARENA_SLOTS (CHECKPOINT_ARENA_BYTES / sizeof(struct checkpoint))

uint32_t mp_unwind_rules_keep(int on)
{
	kept.off = !on;
	mp_unwind_ranges_keep(on);
	return kept.used;
}

void mp_unwind_rules_after_fork_child(void)
{
	kept_unlock();
	mp_unwind_ranges_after_fork_child();
}

/* Runs the FDE program of `run` whole, keeping checkpoints; their count (0 if none). */
static uint32_t checkpoints_make(struct run *run, const uint8_t *end, const struct cie *cie,
				 const struct row *initial)
{
	struct row row = *initial;
	uint32_t first = kept.used, count = 0;
	while (run->in.at < end) {
		const uint8_t *stop = (size_t)(end - run->in.at) > CHECKPOINT_STRIDE
					      ? run->in.at + CHECKPOINT_STRIDE
					      : end;
		if (run_program(run, stop, cie, UINT64_MAX, &row, initial) < 0 || run->set_loc)
			return 0;
		if (run->depth || run->in.at >= end)
			continue;
		if (first + count == CHECKPOINT_ARENA_SLOTS)
			return 0;
		kept.arena[first + count++] =
			(struct checkpoint){ run->in.at, run->location, row };
	}
	kept.used += count;
	return count;
}

/* The FDE's checkpoints, made if it has none yet (from run, at the program's start, and
 * put back there: a copy would take 3 KiB more of the program's stack): the index of the
 * first, *count of them (0: none). Called with the lock held. */
static uint32_t checkpoints_of(const uint8_t *fde, struct run *run, const uint8_t *end,
			       const struct cie *cie, const struct row *initial, uint32_t *count)
{
	for (uint32_t i = 0; i < kept.fde_count; i++) {
		if (kept.fdes[i].fde == fde) {
			*count = kept.fdes[i].count;
			return kept.fdes[i].first;
		}
	}
	*count = 0;
	if (kept.fde_count == CHECKPOINT_FDES)
		return 0;
	if (!kept.arena &&
	    !(kept.arena = mp_sys_map_anon(CHECKPOINT_ARENA_BYTES)))
		return 0;
	const uint8_t *start = run->in.at;
	uint64_t location = run->location;
	uint32_t first = kept.used;
	*count = checkpoints_make(run, end, cie, initial);
	kept.fdes[kept.fde_count++] = (struct checkpoint_fde){ fde, first, *count };
	run->in.at = start;
	run->in.bad = 0;
	run->location = location;
	run->row_start = location;
	run->depth = 0;
	run->set_loc = 0;
	return first;
}

/* Moves run (at the FDE program's start) and row to the program's last checkpoint at or
 * below pc, if the program is long enough to have them. */
static void checkpoint_resume(const uint8_t *fde, unsigned long long subs, struct run *run,
			      const uint8_t *end, const struct cie *cie, uint64_t pc,
			      struct row *row, const struct row *initial)
{
	if ((size_t)(end - run->in.at) < CHECKPOINT_MIN_PROGRAM || !kept_lock(subs))
		return;
	uint32_t count, first = checkpoints_of(fde, run, end, cie, initial, &count);
	/* The last whose location is at most pc. */
	uint32_t low = 0, high = count;
	while (low < high) {
		uint32_t mid = low + (high - low) / 2;
		if (kept.arena[first + mid].location <= pc)
			low = mid + 1;
		else
			high = mid;
	}
	if (low > 0) {
		const struct checkpoint *found = &kept.arena[first + low - 1];
		run->in.at = found->at;
		run->location = found->location;
		run->row_start = found->location; /* maybe further back: a part is enough */
		*row = found->row;
	}
	kept_unlock();
}

/* The CIE at at and the row its initial instructions make. */
static __attribute__((noinline)) int cie_make(const struct reader *segment, const uint8_t *at,
					      struct cie *cie, struct row *initial)
{
	if (parse_cie(segment, at, cie) < 0)
		return -1;
	memset(initial, 0, sizeof(*initial));
	for (int reg = 0; reg < REG_COUNT; reg++)
		initial->where[reg] = WHERE_SAME;
	initial->cfa_where = WHERE_SAME;
	struct run run;
	run_start(&run, segment, cie->instructions, 0);
	return run_program(&run, cie->end, cie, UINT64_MAX, initial, NULL);
}

/* cie_make's answer, kept for the next FDEs of the same CIE. */
static int cie_of(const struct reader *segment, const uint8_t *at, unsigned long long subs,
		  struct cie *cie, struct row *initial)
{
	int locked = kept_lock(subs);
	for (uint32_t i = 0; locked && i < kept.cie_count; i++) {
		if (kept.cies[i].at == at) {
			*cie = kept.cies[i].cie;
			*initial = kept.cies[i].initial;
			kept_unlock();
			return 0;
		}
	}
	int err = cie_make(segment, at, cie, initial);
	if (locked) {
		if (!err && kept.cie_count < KEPT_CIES)
			kept.cies[kept.cie_count++] = (struct kept_cie){ at, *cie, *initial };
		kept_unlock();
	}
	return err;
}

/* The FDE at fde, if it covers pc: its row at pc, classified, and the addresses below
 * `bound` (where the search table's next FDE starts) that the same row holds for. */
static void rule_from_fde(const struct reader *segment, const uint8_t *fde, uint64_t pc,
			  uint64_t bound, unsigned long long subs, struct mp_unwind_rule *out,
			  struct row_range *range_out)
{
	struct reader r = *segment;
	reader_seek(&r, fde);
	uint64_t length = read_fixed(&r, 4);
	const uint8_t *pointer_field = r.at;
	int32_t cie_pointer = (int32_t)read_fixed(&r, 4);
	if (r.bad || length == 0 || length >= 0xfffffff0u || cie_pointer == 0)
		return;
	if (length > (uint64_t)(segment->end - fde) - 4)
		return;
	const uint8_t *end = fde + 4 + length;
	struct cie cie;
	struct row initial, row;
	if (cie_of(segment, pointer_field - cie_pointer, subs, &cie, &initial) < 0)
		return;
	uint64_t start = read_encoded(&r, cie.fde_encoding);
	uint64_t range = read_encoded(&r, cie.fde_encoding & 0x0f);
	if (cie.sized) {
		uint64_t size = read_uleb(&r);
		if (r.bad || size > (uint64_t)(end - r.at))
			return;
		const uint8_t *data_end = r.at + size;
		read_encoded(&r, cie.lsda_encoding == 0xff ? 0xff : cie.lsda_encoding & 0x7f);
		if (r.at > data_end)
			return;
		r.at = data_end;
	} else if (cie.lsda_encoding != 0xff) {
		return;
	}
	if (r.bad || pc < start || pc - start >= range || r.at > end)
		return;
	row = initial;
	struct run run;
	run_start(&run, segment, r.at, start);
	checkpoint_resume(fde, subs, &run, end, &cie, pc, &row, &initial);
	if (run_program(&run, end, &cie, pc, &row, &initial) < 0)
		return;
	classify(&row, out);
	uint64_t high = run.location > pc ? run.location : start + range;
	if (high > start + range)
		high = start + range;
	if (high > bound)
		high = bound;
	/* A set_loc may have moved the location back: no range then. */
	if (!run.set_loc && run.row_start <= pc && pc < high)
		*range_out = (struct row_range){ run.row_start, high };
}

/* libunwind's dwarf_callback and lookup: the object whose PT_LOAD holds pc, its
 * eh_frame_hdr's binary search table (datarel, sdata4 entries), the last entry at or
 * below pc. */
static int find_in_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct query *query = data;
	const ElfW(Phdr) *text = NULL, *eh_hdr = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + phdr->p_vaddr;
		if (phdr->p_type == PT_LOAD && query->pc >= start && query->pc - start < phdr->p_memsz)
			text = phdr;
		else if (phdr->p_type == PT_GNU_EH_FRAME)
			eh_hdr = phdr;
	}
	if (!text)
		return 0;
	if (!eh_hdr)
		return 1; /* libunwind would look for .eh_frame in the file: not here */
	const uint8_t *hdr = (const uint8_t *)(info->dlpi_addr + eh_hdr->p_vaddr);
	struct reader segment = { NULL, NULL, NULL, 0 };
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
		const uint8_t *start = (const uint8_t *)(info->dlpi_addr + phdr->p_vaddr);
		if (phdr->p_type == PT_LOAD && hdr >= start && hdr < start + phdr->p_filesz) {
			segment.start = start;
			segment.end = start + phdr->p_filesz;
		}
	}
	if (!segment.start || hdr + 4 > segment.end || hdr[0] != 1 || hdr[3] != 0x3b)
		return 1;
	struct reader r = segment;
	r.at = hdr + 4;
	read_encoded(&r, hdr[1]); /* eh_frame_ptr */
	uint64_t count = read_encoded(&r, hdr[2]);
	const int32_t *table = (const int32_t *)(const void *)r.at;
	if (r.bad || hdr[2] == 0xff || count > (uint64_t)(segment.end - r.at) / 8)
		return 1;
	int32_t rel_pc = (int32_t)(query->pc - (uintptr_t)hdr);
	uint64_t low = 0, high = count;
	while (low < high) {
		uint64_t mid = (low + high) / 2;
		if (rel_pc < table[2 * mid])
			high = mid;
		else
			low = mid + 1;
	}
	if (high == 0)
		return 1;
	/* A loader too old to count unloads keeps nothing between rules. */
	int counts = size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs);
	uint64_t bound = high < count ? (uint64_t)(uintptr_t)hdr + (uint64_t)(int64_t)table[2 * high]
				      : UINT64_MAX;
	rule_from_fde(&segment, hdr + table[2 * (high - 1) + 1], query->pc, bound,
		      counts ? info->dlpi_subs : UNKNOWN_SUBS, query->out, &query->range);
	return 1;
}

void mp_unwind_rule_find(uintptr_t ra, uint32_t generation, struct mp_unwind_rule *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = MP_UNWIND_OTHER;
	if (mp_unwind_ranges_find(ra - 1, generation, out))
		return;
	struct query query = { .pc = ra - 1, .out = out };
	mp_loader_iterate(find_in_object, &query);
	if (query.range.high)
		mp_unwind_ranges_add(query.range.low, query.range.high, ra - 1, generation, out);
}
