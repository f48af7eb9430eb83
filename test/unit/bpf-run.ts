// A classic-BPF interpreter for seccomp programs, shared by the tests of the BPF filter (seccomp.test.ts)
// and of the container profile generated from the same policy (seccomp-oci.test.ts).
import assert from "node:assert/strict";

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export function decode(buf: Buffer): Insn[] {
  assert.equal(buf.length % 8, 0, "a whole number of 8-byte instructions");
  const out: Insn[] = [];
  for (let i = 0; i < buf.length; i += 8) out.push({ code: buf.readUInt16LE(i), jt: buf.readUInt8(i + 2), jf: buf.readUInt8(i + 3), k: buf.readUInt32LE(i + 4) });
  return out;
}

/** struct seccomp_data, little-endian. */
export function seccompData(arch: number, nr: number, args: bigint[] = []): Buffer {
  const b = Buffer.alloc(64);
  b.writeInt32LE(nr | 0, 0);
  b.writeUInt32LE(arch >>> 0, 4);
  b.writeBigUInt64LE(0x401000n, 8);
  args.forEach((a, i) => b.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  return b;
}

/** A classic BPF interpreter with the checks the kernel's seccomp verifier makes. */
export function run(program: Insn[], data: Buffer): number {
  let A = 0;
  let pc = 0;
  for (let steps = 0; steps < 10_000; steps++) {
    const insn = program[pc];
    assert.ok(insn, `pc ${pc} falls off the program`);
    const { code, jt, jf, k } = insn;
    const cls = code & 0x07;
    switch (cls) {
      case 0x00: {
        // BPF_LD
        assert.equal(code, 0x20, `only BPF_LD|BPF_W|BPF_ABS is used (got ${code.toString(16)})`);
        assert.ok(k % 4 === 0 && k + 4 <= 64, `aligned load inside seccomp_data (${k})`);
        A = data.readUInt32LE(k);
        pc++;
        break;
      }
      case 0x04: {
        // BPF_ALU
        const op = code & 0xf0;
        assert.equal(code & 0x08, 0, "BPF_K operand");
        if (op === 0x50) A = (A & k) >>> 0;
        else assert.fail(`unexpected ALU op ${op.toString(16)}`);
        pc++;
        break;
      }
      case 0x05: {
        // BPF_JMP
        const op = code & 0xf0;
        assert.equal(code & 0x08, 0, "BPF_K operand");
        if (op === 0x00) {
          pc += 1 + k;
          break;
        }
        let cond: boolean;
        if (op === 0x10) cond = A === k;
        else if (op === 0x20) cond = A > k;
        else if (op === 0x30) cond = A >= k;
        else if (op === 0x40) cond = (A & k) !== 0;
        else assert.fail(`unexpected jump op ${op.toString(16)}`);
        pc += 1 + (cond ? jt : jf);
        break;
      }
      case 0x06:
        // BPF_RET
        assert.equal(code, 0x06, "BPF_RET|BPF_K");
        return k >>> 0;
      default:
        assert.fail(`unexpected instruction class ${cls}`);
    }
  }
  assert.fail("the program does not terminate");
}

