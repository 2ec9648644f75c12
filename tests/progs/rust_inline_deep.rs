// rust_inline_deep.rs: a call chain inlined 70 functions deep in a Rust program
// (tests/integration/rust_program.sh). The allocation's stack must show the innermost of
// them first, deep::f70, then f69 and on, 32 frames for that one address as for any:
// with room for 64 scopes only, the walk of rustc's DWARF lost the 7 innermost and showed
// f63 at f70's line.
mod deep {
    #[inline(never)]
    pub fn allocate(n: usize) -> Vec<u8> {
        vec![7u8; n]
    }

    // Each fN calls fN+1 and changes the block it gets back: always inlined, each is a
    // scope of its own around the call to allocate.
    macro_rules! chain {
        ($($name:ident -> $next:ident),* $(,)?) => {
            $(
                #[inline(always)]
                pub fn $name(n: usize) -> Vec<u8> {
                    let mut block = $next(n + 1);
                    block[0] = block[0].wrapping_add(1);
                    block
                }
            )*
        };
    }

    chain!(f1 -> f2, f2 -> f3, f3 -> f4, f4 -> f5, f5 -> f6, f6 -> f7, f7 -> f8, f8 -> f9,
           f9 -> f10, f10 -> f11, f11 -> f12, f12 -> f13, f13 -> f14, f14 -> f15, f15 -> f16,
           f16 -> f17, f17 -> f18, f18 -> f19, f19 -> f20, f20 -> f21, f21 -> f22, f22 -> f23,
           f23 -> f24, f24 -> f25, f25 -> f26, f26 -> f27, f27 -> f28, f28 -> f29, f29 -> f30,
           f30 -> f31, f31 -> f32, f32 -> f33, f33 -> f34, f34 -> f35, f35 -> f36, f36 -> f37,
           f37 -> f38, f38 -> f39, f39 -> f40, f40 -> f41, f41 -> f42, f42 -> f43, f43 -> f44,
           f44 -> f45, f45 -> f46, f46 -> f47, f47 -> f48, f48 -> f49, f49 -> f50, f50 -> f51,
           f51 -> f52, f52 -> f53, f53 -> f54, f54 -> f55, f55 -> f56, f56 -> f57, f57 -> f58,
           f58 -> f59, f59 -> f60, f60 -> f61, f61 -> f62, f62 -> f63, f63 -> f64, f64 -> f65,
           f65 -> f66, f66 -> f67, f67 -> f68, f68 -> f69, f69 -> f70, f70 -> allocate);
}

fn main() {
    let block = deep::f1(std::env::args().count() + 40);
    println!("ok {}", block.len());
}
