//! `bpf::Program` over arbitrary instructions and packets: the validator must
//! never accept a program the interpreter could panic or loop on.
//!
//! Input: byte 0 = instruction count n, then n 8-byte instructions (code u16
//! LE, jt, jf, k u32 LE), then the packet. Each program is tried as is (the
//! validator's view) and repaired (jumps, memory indexes, constant divisors
//! and shifts brought into range, RET A appended) so most inputs also run.
#![no_main]

use bpf::{Insn, Program};
use libfuzzer_sys::fuzz_target;

fn run(program: &Program, packet: &[u8]) {
    let wire = packet.len() as u32;
    let r = program.run(packet, wire);
    assert_eq!(r, program.run(packet, wire), "not deterministic");
    assert_eq!(program.matches(packet, wire), r != 0);
    // Wire length only feeds LEN loads; a larger one must not break anything.
    let _ = program.run(packet, wire.wrapping_mul(3));
}

fn repair(insns: &[Insn]) -> Vec<Insn> {
    let len = insns.len() + 1; // with the RET A appended
    let mut out = insns.to_vec();
    for (i, ins) in out.iter_mut().enumerate() {
        let after = (len - i - 1) as u32; // instructions after this one
        let class = ins.code & 0x07;
        match ins.code {
            0x05 => ins.k %= after, // JA
            _ if class == 0x05 => {
                ins.jt = (ins.jt as u32 % after.min(256)) as u8;
                ins.jf = (ins.jf as u32 % after.min(256)) as u8;
            }
            0x60 | 0x61 | 0x02 | 0x03 => ins.k %= 16,
            0x34 | 0x94 if ins.k == 0 => ins.k = 1,
            0x64 | 0x74 => ins.k %= 32,
            _ => {}
        }
    }
    out.push(Insn::stmt(0x16, 0));
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let Some((code, packet)) = rest.split_at_checked(n as usize * 8) else { return };
    let insns: Vec<Insn> = code
        .chunks_exact(8)
        .map(|c| Insn::new(u16::from_le_bytes([c[0], c[1]]), c[2], c[3], u32::from_le_bytes([c[4], c[5], c[6], c[7]])))
        .collect();
    if let Ok(p) = Program::new(insns.clone()) {
        run(&p, packet);
    }
    match Program::new(repair(&insns)) {
        Ok(p) => run(&p, packet),
        // Only an unknown opcode is beyond repair.
        Err(e) => assert!(e.to_string().contains("unknown opcode"), "{e}"),
    }
});
