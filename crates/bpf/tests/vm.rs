//! The interpreter and validator on hand-written programs, and on random
//! programs against libpcap's own interpreter.

use bpf::vm::op::*;
use bpf::{BpfError, Compiler, Insn, Program};

fn s(code: u16, k: u32) -> Insn {
    Insn::stmt(code, k)
}

fn j(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn::jump(code, k, jt, jf)
}

fn prog(insns: &[Insn]) -> Program {
    Program::new(insns.to_vec()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `body` followed by RET A.
fn a_after(body: &[Insn], packet: &[u8], wire_len: u32) -> u32 {
    let mut v = body.to_vec();
    v.push(s(RET | A, 0));
    prog(&v).run(packet, wire_len)
}

const PKT: [u8; 8] = [0x01, 0x02, 0x03, 0x04, 0x45, 0x06, 0x07, 0x08];

#[test]
fn ret_k_and_a() {
    assert_eq!(prog(&[s(RET | K, 7)]).run(&[], 0), 7);
    assert!(!prog(&[s(RET | K, 0)]).matches(&PKT, 8));
    assert_eq!(a_after(&[s(LD | IMM, 99)], &[], 0), 99);
    assert_eq!(prog(&[s(RET | K, 7)]).insns(), &[s(RET | K, 7)]);
}

#[test]
fn absolute_loads_are_big_endian_and_bounded() {
    assert_eq!(a_after(&[s(LD | W | ABS, 0)], &PKT, 8), 0x0102_0304);
    assert_eq!(a_after(&[s(LD | W | ABS, 4)], &PKT, 8), 0x4506_0708);
    assert_eq!(a_after(&[s(LD | H | ABS, 6)], &PKT, 8), 0x0708);
    assert_eq!(a_after(&[s(LD | B | ABS, 7)], &PKT, 8), 0x08);
    // One byte short, or far out (k near u32::MAX): reject with 0, whatever follows.
    let oob = |ins: Insn| prog(&[ins, s(RET | K, 1)]).run(&PKT, 1000);
    assert_eq!(oob(s(LD | W | ABS, 5)), 0);
    assert_eq!(oob(s(LD | H | ABS, 7)), 0);
    assert_eq!(oob(s(LD | B | ABS, 8)), 0);
    assert_eq!(oob(s(LD | W | ABS, u32::MAX - 1)), 0);
    assert_eq!(oob(s(LD | B | ABS, u32::MAX)), 0);
    assert_eq!(oob(s(LD | B | ABS, 0)), 1);
    // Captured length rules, not wire length.
    assert_eq!(prog(&[s(LD | B | ABS, 2), s(RET | K, 1)]).run(&PKT[..2], 1500), 0);
}

#[test]
fn indirect_loads_add_x_without_overflow() {
    let x = |v: u32| s(LDX | IMM, v);
    assert_eq!(a_after(&[x(2), s(LD | W | IND, 2)], &PKT, 8), 0x4506_0708);
    assert_eq!(a_after(&[x(3), s(LD | H | IND, 2)], &PKT, 8), 0x0607);
    assert_eq!(a_after(&[x(7), s(LD | B | IND, 0)], &PKT, 8), 0x08);
    let oob = |insns: &[Insn]| {
        let mut v = insns.to_vec();
        v.push(s(RET | K, 1));
        prog(&v).run(&PKT, 8)
    };
    assert_eq!(oob(&[x(2), s(LD | W | IND, 3)]), 0);
    assert_eq!(oob(&[x(7), s(LD | H | IND, 0)]), 0);
    assert_eq!(oob(&[x(8), s(LD | B | IND, 0)]), 0);
    // X + k wraps to 1 in 32 bits; libpcap rejects, so must we.
    assert_eq!(oob(&[x(u32::MAX), s(LD | B | IND, 2)]), 0);
    assert_eq!(oob(&[x(u32::MAX), s(LD | W | IND, 2)]), 0);
    assert_eq!(oob(&[x(2), s(LD | H | IND, u32::MAX)]), 0);
}

#[test]
fn len_loads_wire_length() {
    assert_eq!(a_after(&[s(LD | W | LEN, 0)], &PKT, 1514), 1514);
    assert_eq!(a_after(&[s(LDX | W | LEN, 0), s(MISC | TXA, 0)], &PKT, 60), 60);
}

#[test]
fn msh_loads_ipv4_header_length() {
    // X = 4 * (p[4] & 0xf) = 20, then A = p[X - 20 + 4] via IND with k = -16 impossible;
    // just move X to A.
    assert_eq!(a_after(&[s(LDX | B | MSH, 4), s(MISC | TXA, 0)], &PKT, 8), 20);
    assert_eq!(a_after(&[s(LDX | B | MSH, 0), s(MISC | TXA, 0)], &PKT, 8), 4);
    assert_eq!(prog(&[s(LDX | B | MSH, 8), s(RET | K, 1)]).run(&PKT, 8), 0);
}

#[test]
fn scratch_memory() {
    let body = [
        s(LD | IMM, 11),
        s(ST, 0),
        s(LDX | IMM, 22),
        s(STX, 15),
        s(LD | MEM, 15),
        s(LDX | MEM, 0),
        s(ALU | ADD | X, 0),
    ];
    assert_eq!(a_after(&body, &[], 0), 33);
    // Unwritten slots read as 0 (libpcap leaves them undefined).
    assert_eq!(a_after(&[s(LD | IMM, 5), s(LD | MEM, 3)], &[], 0), 0);
}

#[test]
fn alu_with_constants_and_x() {
    let k = |op: u16, a: u32, v: u32| a_after(&[s(LD | IMM, a), s(ALU | op | K, v)], &[], 0);
    let x = |op: u16, a: u32, v: u32| a_after(&[s(LD | IMM, a), s(LDX | IMM, v), s(ALU | op | X, 0)], &[], 0);
    for f in [k, x] {
        assert_eq!(f(ADD, u32::MAX, 2), 1);
        assert_eq!(f(SUB, 1, 2), u32::MAX);
        assert_eq!(f(MUL, 0x8000_0001, 2), 2);
        assert_eq!(f(DIV, 17, 5), 3);
        assert_eq!(f(MOD, 17, 5), 2);
        assert_eq!(f(AND, 0b1100, 0b1010), 0b1000);
        assert_eq!(f(OR, 0b1100, 0b1010), 0b1110);
        assert_eq!(f(XOR, 0b1100, 0b1010), 0b0110);
        assert_eq!(f(LSH, 0x8000_0001, 1), 2);
        assert_eq!(f(RSH, 0x8000_0000, 31), 1);
    }
    // Shifting by X >= 32 gives 0 (libpcap 1.10).
    assert_eq!(x(LSH, 1, 32), 0);
    assert_eq!(x(RSH, u32::MAX, 40), 0);
    assert_eq!(a_after(&[s(LD | IMM, 5), s(ALU | NEG, 0)], &[], 0), 5u32.wrapping_neg());
}

#[test]
fn division_by_zero_in_x_rejects() {
    for op in [DIV, MOD] {
        let p = prog(&[s(LD | IMM, 10), s(LDX | IMM, 0), s(ALU | op | X, 0), s(RET | K, 1)]);
        assert_eq!(p.run(&PKT, 8), 0);
    }
}

#[test]
fn tax_and_txa() {
    assert_eq!(a_after(&[s(LD | IMM, 9), s(MISC | TAX, 0), s(LD | IMM, 1), s(MISC | TXA, 0)], &[], 0), 9);
}

#[test]
fn jumps_take_the_right_branch() {
    // A = 5, X = 5; each jump returns 1 when taken, 2 when not.
    let branch = |cond: Insn| prog(&[s(LD | IMM, 5), s(LDX | IMM, 5), cond, s(RET | K, 1), s(RET | K, 2)]).run(&[], 0);
    assert_eq!(branch(j(JMP | JEQ | K, 5, 0, 1)), 1);
    assert_eq!(branch(j(JMP | JEQ | K, 6, 0, 1)), 2);
    assert_eq!(branch(j(JMP | JGT | K, 4, 0, 1)), 1);
    assert_eq!(branch(j(JMP | JGT | K, 5, 0, 1)), 2);
    assert_eq!(branch(j(JMP | JGE | K, 5, 0, 1)), 1);
    assert_eq!(branch(j(JMP | JGE | K, 6, 0, 1)), 2);
    assert_eq!(branch(j(JMP | JSET | K, 4, 0, 1)), 1);
    assert_eq!(branch(j(JMP | JSET | K, 2, 0, 1)), 2);
    assert_eq!(branch(j(JMP | JEQ | X, 0, 0, 1)), 1);
    assert_eq!(branch(j(JMP | JGT | X, 0, 0, 1)), 2);
    assert_eq!(branch(j(JMP | JGE | X, 0, 0, 1)), 1);
    assert_eq!(branch(j(JMP | JSET | X, 0, 0, 1)), 1);
    assert_eq!(branch(j(JMP | JA, 1, 0, 0)), 2);
    // jt/jf skip several instructions; JA ignores them.
    let p = prog(&[j(JMP | JEQ | K, 0, 2, 0), s(RET | K, 1), s(RET | K, 2), s(RET | K, 3)]);
    assert_eq!(p.run(&[], 0), 3);
    let p = prog(&[j(JMP | JA, 2, 9, 9), s(RET | K, 1), s(RET | K, 2), s(RET | K, 3)]);
    assert_eq!(p.run(&[], 0), 3);
}

fn rejects(insns: &[Insn], why: &str) {
    match Program::new(insns.to_vec()) {
        Err(BpfError::Invalid(m)) => assert!(m.contains(why), "{m:?} lacks {why:?}"),
        other => panic!("{insns:?} accepted or wrong error: {other:?}"),
    }
}

#[test]
fn validator_rejects_bad_programs() {
    let ret = s(RET | K, 0);
    rejects(&[], "empty");
    rejects(&[s(LD | IMM, 1)], "must end with RET");
    rejects(&[j(JMP | JEQ | K, 0, 1, 0), ret], "jump past the end");
    rejects(&[j(JMP | JEQ | K, 0, 0, 1), ret], "jump past the end");
    rejects(&[j(JMP | JSET | X, 0, 0, 255), ret], "jump past the end");
    rejects(&[s(JMP | JA, 1), ret], "jump past the end");
    rejects(&[s(JMP | JA, u32::MAX), ret], "backward jump");
    rejects(&[s(JMP | JA, 0x7fff_ffff), ret], "jump past the end");
    for code in [0xffff, 0x0e, 0x8c, 0xb0, 0x65, 0x0d, 0x0105, RET | X, LD | B | MEM, LDX | H | ABS, JMP | 0x50] {
        rejects(&[s(code, 0), ret], "unknown opcode");
    }
    for code in [LD | MEM, LDX | MEM, ST, STX] {
        rejects(&[s(code, 16), ret], "below 16");
        assert!(Program::new(vec![s(code, 15), ret]).is_ok());
    }
    rejects(&[s(ALU | DIV | K, 0), ret], "division by constant zero");
    rejects(&[s(ALU | MOD | K, 0), ret], "division by constant zero");
    rejects(&[s(ALU | LSH | K, 32), ret], "shift by 32");
    rejects(&[s(ALU | RSH | K, 99), ret], "shift by 32");
    // The error names the instruction.
    rejects(&[ret, s(0xffff, 0), ret], "instruction 1");
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CODES: &[u16] = &[
    LD | W | ABS,
    LD | H | ABS,
    LD | B | ABS,
    LD | W | IND,
    LD | H | IND,
    LD | B | IND,
    LD | W | LEN,
    LD | IMM,
    LD | MEM,
    LDX | W | LEN,
    LDX | IMM,
    LDX | MEM,
    LDX | B | MSH,
    ST,
    STX,
    JMP | JA,
    JMP | JEQ | K,
    JMP | JGT | K,
    JMP | JGE | K,
    JMP | JSET | K,
    JMP | JEQ | X,
    JMP | JGT | X,
    JMP | JGE | X,
    JMP | JSET | X,
    ALU | ADD | K,
    ALU | SUB | K,
    ALU | MUL | K,
    ALU | DIV | K,
    ALU | MOD | K,
    ALU | AND | K,
    ALU | OR | K,
    ALU | XOR | K,
    ALU | LSH | K,
    ALU | RSH | K,
    ALU | ADD | X,
    ALU | SUB | X,
    ALU | MUL | X,
    ALU | DIV | X,
    ALU | MOD | X,
    ALU | AND | X,
    ALU | OR | X,
    ALU | XOR | X,
    ALU | LSH | X,
    ALU | RSH | X,
    ALU | NEG,
    MISC | TAX,
    MISC | TXA,
    RET | K,
    RET | A,
];

fn random_program(rng: &mut Rng) -> Vec<Insn> {
    // libpcap's scratch memory starts undefined: zero it first so both agree.
    let mut v: Vec<Insn> = (0..16).map(|i| s(ST, i)).collect();
    let body = 1 + rng.below(40) as usize;
    for i in 0..body {
        let code = CODES[rng.below(CODES.len() as u64) as usize];
        let left = (body - i) as u64; // instructions after this one, counting the final RET
        let k = match rng.below(4) {
            0 => rng.next() as u32,
            1 => rng.below(64) as u32,
            _ => rng.below(16) as u32,
        };
        let (jt, jf) = (rng.below(left.min(256)) as u8, rng.below(left.min(256)) as u8);
        let mut ins = Insn::new(code, jt, jf, k);
        if code == JMP | JA {
            ins.k = rng.below(left) as u32;
        }
        v.push(ins);
    }
    v.push(s(RET | A, 0));
    v
}

#[test]
fn random_programs_agree_with_libpcap() {
    let compiler = Compiler::load().expect("libpcap");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut programs, mut runs, mut nonzero) = (0, 0, 0);
    while programs < 20_000 {
        let Ok(p) = Program::new(random_program(&mut rng)) else { continue };
        programs += 1;
        for _ in 0..4 {
            let len = rng.below(80) as usize;
            let packet: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let wire = len as u32 + rng.below(3) as u32 * 100;
            let (ours, theirs) = (p.run(&packet, wire), compiler.reference_run(&p, &packet, wire));
            assert_eq!(ours, theirs, "program {:?}\npacket {packet:?} wire {wire}", p.insns());
            runs += 1;
            nonzero += u32::from(ours != 0);
        }
    }
    println!("{programs} random programs, {runs} runs, {nonzero} non-zero results, all equal to libpcap's");
    assert!(nonzero > runs / 10);
}
