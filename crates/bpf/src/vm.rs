//! Classic BPF: the validator and the interpreter.
//!
//! Semantics follow libpcap's `bpf_filter()` (`pcapint_filter` in
//! bpf_filter.c, libpcap 1.10) instruction for instruction, so a program
//! compiled by libpcap gives the same verdict here as in tcpdump. The
//! validator is libpcap's `bpf_validate` tightened like the kernel's
//! `bpf_check_classic`: known opcodes only, jumps forward and in range,
//! constant shifts < 32, and a final RET. Forward-only jumps make every run
//! finish in at most `len` steps.

use crate::BpfError;

/// Scratch memory words (`BPF_MEMWORDS`).
pub const MEMWORDS: usize = 16;

/// One classic BPF instruction, laid out exactly like libpcap's
/// `struct bpf_insn` so compiled programs can be copied in and out as is.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl Insn {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// A non-jump instruction (`BPF_STMT`).
    pub const fn stmt(code: u16, k: u32) -> Insn {
        Insn { code, jt: 0, jf: 0, k }
    }

    /// A conditional jump (`BPF_JUMP`).
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code, jt, jf, k }
    }
}

/// Opcode pieces as in `<pcap/bpf.h>`, for building programs by hand.
pub mod op {
    // Classes.
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const STX: u16 = 0x03;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const MISC: u16 = 0x07;
    // Load sizes.
    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;
    // Load modes.
    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MEM: u16 = 0x60;
    pub const LEN: u16 = 0x80;
    pub const MSH: u16 = 0xa0;
    // ALU operations.
    pub const ADD: u16 = 0x00;
    pub const SUB: u16 = 0x10;
    pub const MUL: u16 = 0x20;
    pub const DIV: u16 = 0x30;
    pub const OR: u16 = 0x40;
    pub const AND: u16 = 0x50;
    pub const LSH: u16 = 0x60;
    pub const RSH: u16 = 0x70;
    pub const NEG: u16 = 0x80;
    pub const MOD: u16 = 0x90;
    pub const XOR: u16 = 0xa0;
    // Jumps.
    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JGT: u16 = 0x20;
    pub const JGE: u16 = 0x30;
    pub const JSET: u16 = 0x40;
    // Operand sources; RET also takes A.
    pub const K: u16 = 0x00;
    pub const X: u16 = 0x08;
    pub const A: u16 = 0x10;
    // MISC operations.
    pub const TAX: u16 = 0x00;
    pub const TXA: u16 = 0x80;
}

/// Every opcode libpcap's `bpf_filter` executes, spelled out so `run` is one
/// jump table.
mod codes {
    use super::op::*;
    pub const RET_K: u16 = RET | K;
    pub const RET_A: u16 = RET | A;
    pub const LD_W_ABS: u16 = LD | W | ABS;
    pub const LD_H_ABS: u16 = LD | H | ABS;
    pub const LD_B_ABS: u16 = LD | B | ABS;
    pub const LD_W_IND: u16 = LD | W | IND;
    pub const LD_H_IND: u16 = LD | H | IND;
    pub const LD_B_IND: u16 = LD | B | IND;
    pub const LD_LEN: u16 = LD | W | LEN;
    pub const LD_IMM: u16 = LD | W | IMM;
    pub const LD_MEM: u16 = LD | W | MEM;
    pub const LDX_LEN: u16 = LDX | W | LEN;
    pub const LDX_IMM: u16 = LDX | W | IMM;
    pub const LDX_MEM: u16 = LDX | W | MEM;
    pub const LDX_MSH: u16 = LDX | B | MSH;
    pub const ST_MEM: u16 = ST;
    pub const STX_MEM: u16 = STX;
    pub const JA: u16 = JMP | super::op::JA;
    pub const JEQ_K: u16 = JMP | JEQ | K;
    pub const JGT_K: u16 = JMP | JGT | K;
    pub const JGE_K: u16 = JMP | JGE | K;
    pub const JSET_K: u16 = JMP | JSET | K;
    pub const JEQ_X: u16 = JMP | JEQ | X;
    pub const JGT_X: u16 = JMP | JGT | X;
    pub const JGE_X: u16 = JMP | JGE | X;
    pub const JSET_X: u16 = JMP | JSET | X;
    pub const ADD_K: u16 = ALU | ADD | K;
    pub const SUB_K: u16 = ALU | SUB | K;
    pub const MUL_K: u16 = ALU | MUL | K;
    pub const DIV_K: u16 = ALU | DIV | K;
    pub const MOD_K: u16 = ALU | MOD | K;
    pub const AND_K: u16 = ALU | AND | K;
    pub const OR_K: u16 = ALU | OR | K;
    pub const XOR_K: u16 = ALU | XOR | K;
    pub const LSH_K: u16 = ALU | LSH | K;
    pub const RSH_K: u16 = ALU | RSH | K;
    pub const ADD_X: u16 = ALU | ADD | X;
    pub const SUB_X: u16 = ALU | SUB | X;
    pub const MUL_X: u16 = ALU | MUL | X;
    pub const DIV_X: u16 = ALU | DIV | X;
    pub const MOD_X: u16 = ALU | MOD | X;
    pub const AND_X: u16 = ALU | AND | X;
    pub const OR_X: u16 = ALU | OR | X;
    pub const XOR_X: u16 = ALU | XOR | X;
    pub const LSH_X: u16 = ALU | LSH | X;
    pub const RSH_X: u16 = ALU | RSH | X;
    pub const NEG: u16 = ALU | super::op::NEG;
    pub const TAX: u16 = MISC | super::op::TAX;
    pub const TXA: u16 = MISC | super::op::TXA;
}

use codes::*;

/// A validated classic BPF program; `run` never panics and always ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    insns: Vec<Insn>,
}

impl Program {
    /// Checks `insns` and wraps them. Errors name the first bad instruction.
    pub fn new(insns: Vec<Insn>) -> Result<Program, BpfError> {
        validate(&insns)?;
        Ok(Program { insns })
    }

    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// True when the program accepts the packet (returns non-zero).
    /// `packet` is the captured bytes, `wire_len` the original length.
    #[inline]
    pub fn matches(&self, packet: &[u8], wire_len: u32) -> bool {
        self.run(packet, wire_len) != 0
    }

    /// Runs the program and returns its RET value (the snap length to keep,
    /// 0 = reject). Loads past the captured bytes reject the packet, as do
    /// division and modulo by X = 0. Never panics; takes at most one step
    /// per instruction.
    pub fn run(&self, packet: &[u8], wire_len: u32) -> u32 {
        // libpcap's buflen is a u_int; nothing real is larger.
        let p = &packet[..packet.len().min(u32::MAX as usize)];
        let mut a: u32 = 0;
        let mut x: u32 = 0;
        // libpcap leaves it uninitialized; zero keeps runs deterministic.
        let mut mem = [0u32; MEMWORDS];
        let mut pc = 0usize;
        loop {
            // Validation keeps pc in range; `get` keeps a slip from panicking.
            let Some(&Insn { code, jt, jf, k }) = self.insns.get(pc) else { return 0 };
            pc += 1;
            let br = |cond: bool| if cond { jt as usize } else { jf as usize };
            match code {
                RET_K => return k,
                RET_A => return a,

                LD_W_ABS => match load::<4>(p, k as u64) {
                    Some(b) => a = u32::from_be_bytes(b),
                    None => return 0,
                },
                LD_H_ABS => match load::<2>(p, k as u64) {
                    Some(b) => a = u16::from_be_bytes(b) as u32,
                    None => return 0,
                },
                // libpcap's Linux-only VLAN ancillary loads (k = 0xfffff02c/30) also give 0
                // without aux data, which is what offline filtering passes.
                LD_B_ABS => match load::<1>(p, k as u64) {
                    Some(b) => a = b[0] as u32,
                    None => return 0,
                },
                LD_W_IND => match load::<4>(p, x as u64 + k as u64) {
                    Some(b) => a = u32::from_be_bytes(b),
                    None => return 0,
                },
                LD_H_IND => match load::<2>(p, x as u64 + k as u64) {
                    Some(b) => a = u16::from_be_bytes(b) as u32,
                    None => return 0,
                },
                LD_B_IND => match load::<1>(p, x as u64 + k as u64) {
                    Some(b) => a = b[0] as u32,
                    None => return 0,
                },
                LD_LEN => a = wire_len,
                LD_IMM => a = k,
                LD_MEM => a = mem[k as usize % MEMWORDS],

                LDX_LEN => x = wire_len,
                LDX_IMM => x = k,
                LDX_MEM => x = mem[k as usize % MEMWORDS],
                // The IPv4 header length: 4 * (p[k] & 0xf).
                LDX_MSH => match load::<1>(p, k as u64) {
                    Some(b) => x = ((b[0] & 0xf) as u32) << 2,
                    None => return 0,
                },

                ST_MEM => mem[k as usize % MEMWORDS] = a,
                STX_MEM => mem[k as usize % MEMWORDS] = x,

                JA => pc += k as usize,
                JEQ_K => pc += br(a == k),
                JGT_K => pc += br(a > k),
                JGE_K => pc += br(a >= k),
                JSET_K => pc += br(a & k != 0),
                JEQ_X => pc += br(a == x),
                JGT_X => pc += br(a > x),
                JGE_X => pc += br(a >= x),
                JSET_X => pc += br(a & x != 0),

                ADD_K => a = a.wrapping_add(k),
                SUB_K => a = a.wrapping_sub(k),
                MUL_K => a = a.wrapping_mul(k),
                // Constant zero divisors are rejected by the validator.
                DIV_K => a = a.checked_div(k).unwrap_or(0),
                MOD_K => a = a.checked_rem(k).unwrap_or(0),
                AND_K => a &= k,
                OR_K => a |= k,
                XOR_K => a ^= k,
                LSH_K => a = a.checked_shl(k).unwrap_or(0),
                RSH_K => a = a.checked_shr(k).unwrap_or(0),
                ADD_X => a = a.wrapping_add(x),
                SUB_X => a = a.wrapping_sub(x),
                MUL_X => a = a.wrapping_mul(x),
                DIV_X => match a.checked_div(x) {
                    Some(q) => a = q,
                    None => return 0,
                },
                MOD_X => match a.checked_rem(x) {
                    Some(r) => a = r,
                    None => return 0,
                },
                AND_X => a &= x,
                OR_X => a |= x,
                XOR_X => a ^= x,
                // libpcap 1.10: shifts by X >= 32 give 0.
                LSH_X => a = a.checked_shl(x).unwrap_or(0),
                RSH_X => a = a.checked_shr(x).unwrap_or(0),
                NEG => a = a.wrapping_neg(),

                TAX => x = a,
                TXA => a = x,
                _ => return 0,
            }
        }
    }
}

/// `N` bytes at `off`, or None past the end of the captured bytes.
#[inline(always)]
fn load<const N: usize>(p: &[u8], off: u64) -> Option<[u8; N]> {
    let off = usize::try_from(off).ok()?;
    let end = off.checked_add(N)?;
    p.get(off..end)?.try_into().ok()
}

fn invalid(i: usize, insn: &Insn, why: &str) -> BpfError {
    BpfError::Invalid(format!("instruction {i} (code {:#06x}, k {:#x}): {why}", insn.code, insn.k))
}

fn validate(insns: &[Insn]) -> Result<(), BpfError> {
    let len = insns.len() as u64;
    let Some(last) = insns.last() else {
        return Err(BpfError::Invalid("empty program".into()));
    };
    for (i, ins) in insns.iter().enumerate() {
        // Jumps are relative to the next instruction.
        let in_range = |off: u8| i as u64 + 1 + u64::from(off) < len;
        match ins.code {
            RET_K | RET_A | LD_W_ABS | LD_H_ABS | LD_B_ABS | LD_W_IND | LD_H_IND | LD_B_IND | LD_LEN | LD_IMM
            | LDX_LEN | LDX_IMM | LDX_MSH | TAX | TXA | NEG => {}
            ADD_K | SUB_K | MUL_K | AND_K | OR_K | XOR_K => {}
            ADD_X | SUB_X | MUL_X | DIV_X | MOD_X | AND_X | OR_X | XOR_X | LSH_X | RSH_X => {}
            DIV_K | MOD_K if ins.k == 0 => return Err(invalid(i, ins, "division by constant zero")),
            DIV_K | MOD_K => {}
            LSH_K | RSH_K if ins.k >= 32 => return Err(invalid(i, ins, "shift by 32 or more")),
            LSH_K | RSH_K => {}
            LD_MEM | LDX_MEM | ST_MEM | STX_MEM if ins.k as usize >= MEMWORDS => {
                return Err(invalid(i, ins, "scratch memory index must be below 16"));
            }
            LD_MEM | LDX_MEM | ST_MEM | STX_MEM => {}
            // libpcap encodes `protochain` loops as negative offsets.
            JA if (ins.k as i32) < 0 => {
                return Err(invalid(i, ins, "backward jump (as `protochain` makes) is not supported"));
            }
            JA if i as u64 + 1 + ins.k as u64 >= len => {
                return Err(invalid(i, ins, "jump past the end of the program"));
            }
            JA => {}
            JEQ_K | JGT_K | JGE_K | JSET_K | JEQ_X | JGT_X | JGE_X | JSET_X => {
                if !in_range(ins.jt) || !in_range(ins.jf) {
                    return Err(invalid(i, ins, "jump past the end of the program"));
                }
            }
            _ => return Err(invalid(i, ins, "unknown opcode")),
        }
    }
    if !matches!(last.code, RET_K | RET_A) {
        return Err(invalid(insns.len() - 1, last, "program must end with RET"));
    }
    Ok(())
}
