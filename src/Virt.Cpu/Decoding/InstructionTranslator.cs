using Iced.Intel;

namespace Virt.Cpu.Decoding;

/// <summary>
/// Translation of Iced's <see cref="Instruction"/> into the executor's <see cref="DecodedInstruction"/>, once per decode:
/// operand kinds, registers, the effective-address recipe, immediates, the <see cref="Op"/> handler index, and the
/// specialised fast form when one applies (register-only ALU, shift and multiply forms, 32-bit-addressed memory forms).
/// x87 instructions keep their opcode and ModRM bytes (with the WAIT prefix folded in) for the x87 executor.
/// </summary>
internal static class InstructionTranslator
{
    private const int Es = 0;
    private const int Cs = 1;
    private const int Ss = 2;
    private const int Ds = 3;
    private const int RegCx = 1;
    private const int DebugRegisterBase = Cpu.DebugRegisterBase;

    /// <summary>First opcode (after 0Fh) of the hint-NOP space.</summary>
    private const uint HintNopFirstOpcode = 0x18;

    /// <summary>Last opcode (after 0Fh) of the hint-NOP space.</summary>
    private const uint HintNopLastOpcode = 0x1F;

    /// <summary>Translates one decoded instruction into the executor's form.</summary>
    /// <param name="ins">Iced's decoded instruction.</param>
    /// <param name="bytes">The instruction's bytes (for the legacy prefixes and the x87 opcode and ModRM bytes).</param>
    /// <param name="d">The executor's instruction to fill.</param>
    /// <param name="code32">Whether the code segment is 32-bit.</param>
    /// <param name="code64">Whether the CPU is in 64-bit mode (the instruction was decoded with bitness 64).</param>
    public static void Translate(in Instruction ins, ReadOnlySpan<byte> bytes, ref DecodedInstruction d, bool code32, bool code64 = false)
    {
        d = default;
        d.Length = (byte)ins.Length;
        d.Base = DecodedInstruction.NoRegister;
        d.Index = DecodedInstruction.NoRegister;

        // Operand and address size from the raw prefixes (Intel SDM Vol. 2A, 2.1.1: 66h and 67h toggle the default). Iced
        // folds them into its Code values but does not expose them as such, so the legacy prefixes are read here, once per
        // decode, and the result is shared with the x87 translation.
        LegacyPrefixes prefixes = LegacyPrefixes.Scan(bytes, ins.Mnemonic == Mnemonic.Wait, code64);
        bool has66 = prefixes.OperandSize;
        bool has67 = prefixes.AddressSize;

        // 64-bit mode (Intel SDM Vol. 1, 3.6.1, Table 3-4): REX.W gives 64 bits whatever 66h says, 66h gives 16, the default
        // is 32; addresses are 64-bit, 32 with 67h.
        int opSize = code64 ? (prefixes.RexW ? 8 : has66 ? 2 : 4) : code32 != has66 ? 4 : 2;
        d.OpSize = (byte)opSize;
        d.AddrSize = (byte)(code64 ? (has67 ? 4 : 8) : code32 != has67 ? 4 : 2);
        d.Seg = Ds;
        if (ins.IsInvalid)
        {
            SetInvalid(ref d);
            return;
        }

        // 0F 18-0F 1F with a ModRM byte is the hint-NOP space (Intel SDM Vol. 2D, Table A-3: PREFETCHh, the reserved NOPs
        // and NOP r/m). The forms later features put there (ENDBR32/ENDBR64 and RDSSP of CET, the BND* forms of MPX,
        // CLDEMOTE) are NOPs on a processor without those features, which is the CPU modelled. NOP r/m does not access
        // memory (Vol. 2B, NOP), so the operand is neither translated nor checked: no #GP, #SS or #PF from its address.
        // (Iced folds a fixed ModRM byte into the opcode, as for ENDBR32 = 0F 1E FB: keep the first byte.)
        OpCodeInfo opCodeInfo = ins.Code.ToOpCode();
        uint opcodeByte = opCodeInfo.OpCodeLength == 2 ? opCodeInfo.OpCode >> 8 : opCodeInfo.OpCode;
        if (opCodeInfo.Table == OpCodeTableKind.T0F && opcodeByte is >= HintNopFirstOpcode and <= HintNopLastOpcode)
        {
            d.Op = Op.Nop;
            return;
        }

        int opCount = Math.Min(ins.OpCount, 3);
        bool unsupported = false;
        for (int i = 0; i < opCount; i++)
        {
            OperandKind kind = OperandKind.None;
            byte reg = 0;
            byte size = 0;
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                    Register r = ins.GetOpRegister(i);
                    if (r.IsGPR8())
                    {
                        kind = OperandKind.Register;
                        reg = ByteRegisterNumber(r);
                        size = 1;
                    }
                    else if (r.IsGPR16() || r.IsGPR32() || r.IsGPR64())
                    {
                        kind = OperandKind.Register;
                        reg = (byte)r.GetNumber();
                        size = (byte)r.GetSize();
                    }
                    else if (r.IsSegmentRegister())
                    {
                        kind = OperandKind.Segment;
                        reg = (byte)(r - Register.ES);
                        size = 2;
                    }
                    else if (r.IsCR())
                    {
                        kind = OperandKind.Control;
                        reg = (byte)(r - Register.CR0);
                        size = (byte)(code64 ? 8 : 4);
                    }
                    else if (r.IsXMM() || r.IsMM())
                    {
                        // SIMD registers: the number only; the handler knows from the Code which operands are XMM or MMX.
                        kind = OperandKind.Register;
                        reg = (byte)(r.IsXMM() ? r - Register.XMM0 : r - Register.MM0);
                        size = (byte)r.GetSize();
                    }
                    else if (r.IsDR())
                    {
                        // Debug registers share the control-register form; numbers 8-15 stand for DR0-DR7.
                        kind = OperandKind.Control;
                        reg = (byte)(DebugRegisterBase + (r - Register.DR0));
                        size = (byte)(code64 ? 8 : 4);
                    }
                    else
                    {
                        unsupported = true;
                    }

                    break;
                case OpKind.Memory:
                    kind = OperandKind.Memory;
                    size = (byte)ins.MemorySize.GetSize();
                    if (ins.IsIPRelativeMemoryOperand)
                    {
                        // RIP-relative (Intel SDM Vol. 2A, 2.2.1.6): kept relative to the next instruction, see RipRegister.
                        d.Base = DecodedInstruction.RipRegister;
                    }
                    else if (ins.MemoryBase != Register.None)
                    {
                        if (!ins.MemoryBase.IsGPR())
                        {
                            unsupported = true;
                        }

                        d.Base = (byte)ins.MemoryBase.GetNumber();
                    }

                    if (ins.MemoryIndex != Register.None)
                    {
                        if (!ins.MemoryIndex.IsGPR())
                        {
                            unsupported = true;
                        }

                        d.Index = (byte)ins.MemoryIndex.GetNumber();
                        d.Scale = (byte)System.Numerics.BitOperations.Log2((uint)ins.MemoryIndexScale);
                    }

                    d.Disp = ins.IsIPRelativeMemoryOperand ? ins.IPRelativeMemoryAddress - ins.NextIP
                        : d.AddrSize == 8 ? ins.MemoryDisplacement64 : (uint)ins.MemoryDisplacement64;
                    d.Seg = (byte)(ins.MemorySegment - Register.ES);
                    break;
                case OpKind.Immediate8:
                    kind = OperandKind.Immediate;
                    size = 1;
                    d.Imm = ins.Immediate8;
                    break;
                case OpKind.Immediate16:
                    kind = OperandKind.Immediate;
                    size = 2;
                    d.Imm = ins.Immediate16;
                    break;
                case OpKind.Immediate32:
                    kind = OperandKind.Immediate;
                    size = 4;
                    d.Imm = ins.Immediate32;
                    break;
                case OpKind.Immediate8to16:
                    kind = OperandKind.Immediate;
                    size = 2;
                    d.Imm = (ushort)ins.Immediate8to16;
                    break;
                case OpKind.Immediate8to32:
                    kind = OperandKind.Immediate;
                    size = 4;
                    d.Imm = (uint)ins.Immediate8to32;
                    break;
                case OpKind.Immediate8to64:
                    kind = OperandKind.Immediate;
                    size = 8;
                    d.Imm = (ulong)ins.Immediate8to64;
                    break;
                case OpKind.Immediate32to64:
                    kind = OperandKind.Immediate;
                    size = 8;
                    d.Imm = (ulong)ins.Immediate32to64;
                    break;
                case OpKind.Immediate64:
                    kind = OperandKind.Immediate;
                    size = 8;
                    d.Imm = ins.Immediate64;
                    break;
                case OpKind.Immediate8_2nd:
                    d.Imm2 = ins.Immediate8_2nd;
                    break;
                case OpKind.NearBranch16:
                case OpKind.NearBranch32:
                case OpKind.NearBranch64:
                    // The displacement, sign-extended: RIP + Imm wraps to the operand size in JumpNear.
                    kind = OperandKind.Immediate;
                    size = (byte)opSize;
                    d.Imm = ins.NearBranchTarget - ins.NextIP;
                    break;
                case OpKind.FarBranch16:
                    kind = OperandKind.Immediate;
                    d.Imm = ins.FarBranch16;
                    d.Imm2 = ins.FarBranchSelector;
                    break;
                case OpKind.FarBranch32:
                    kind = OperandKind.Immediate;
                    d.Imm = ins.FarBranch32;
                    d.Imm2 = ins.FarBranchSelector;
                    break;
                case OpKind.MemorySegSI:
                case OpKind.MemorySegESI:
                case OpKind.MemorySegRSI:
                case OpKind.MemorySegDI:
                case OpKind.MemorySegEDI:
                case OpKind.MemorySegRDI:
                    d.Seg = (byte)(ins.MemorySegment - Register.ES);
                    break;
                case OpKind.MemoryESDI:
                case OpKind.MemoryESEDI:
                case OpKind.MemoryESRDI:
                    break;
                default:
                    unsupported = true;
                    break;
            }

            switch (i)
            {
                case 0:
                    d.Kind0 = kind;
                    d.Reg0 = reg;
                    if (kind is OperandKind.Register or OperandKind.Memory)
                    {
                        d.OpSize = size;
                    }

                    break;
                case 1:
                    d.Kind1 = kind;
                    d.Reg1 = reg;
                    d.Size1 = size;
                    break;
                default:
                    d.Kind2 = kind;
                    d.Reg2 = reg;
                    d.Size2 = size;
                    break;
            }
        }

        if (TranslateSimd(in ins, ref d, unsupported))
        {
            return;
        }

        if (TranslateX87(in ins, ref d, bytes, in prefixes, opSize))
        {
            return;
        }

        if (unsupported)
        {
            SetInvalid(ref d);
            return;
        }

        if (ins.HasRepePrefix || ins.HasRepPrefix)
        {
            d.Rep = 1;
        }
        else if (ins.HasRepnePrefix)
        {
            d.Rep = 2;
        }

        d.Cond = (byte)(ins.ConditionCode == ConditionCode.None ? 0 : (int)ins.ConditionCode - 1);
        Op op = MapMnemonic(in ins, ref d, opSize, code64);
        d.Op = op;
        if (op == Op.Invalid)
        {
            SetInvalid(ref d);
            return;
        }

        if (d.Kind0 == OperandKind.Register && !ins.HasLockPrefix)
        {
            bool simpleSource = d.Kind1 is OperandKind.Register or OperandKind.Immediate;
            d.Op = d.Op switch
            {
                Op.Mov when simpleSource => Op.MovRegister,
                Op.Add when simpleSource => Op.AddRegister,
                Op.Sub when simpleSource => Op.SubRegister,
                Op.Cmp when simpleSource => Op.CmpRegister,
                Op.And when simpleSource => Op.AndRegister,
                Op.Or when simpleSource => Op.OrRegister,
                Op.Xor when simpleSource => Op.XorRegister,
                Op.Test when simpleSource => Op.TestRegister,
                Op.Inc => Op.IncRegister,
                Op.Dec => Op.DecRegister,
                _ => d.Op,
            };
        }

        if (!code64)
        {
            // The flat fast forms compute 32-bit linear addresses against the legacy segment bounds.
            SelectMemoryFastForm(ref d, in ins);
        }
        else
        {
            SelectLongMemoryFastForm(ref d, in ins);
        }

        SelectRegisterFastForm(ref d, in ins);

        // Intel SDM Vol. 2A, LOCK: only these instructions with a memory destination accept the prefix, else #UD.
        if (ins.HasLockPrefix && !(d.Kind0 == OperandKind.Memory && op is Op.Add or Op.Adc or Op.And or Op.Btc or Op.Btr or Op.Bts
            or Op.Cmpxchg or Op.Cmpxchg8b or Op.Cmpxchg16b or Op.Dec or Op.Inc or Op.Neg or Op.Not or Op.Or or Op.Sbb or Op.Sub or Op.Xor or Op.Xadd or Op.Xchg))
        {
            SetInvalid(ref d);
        }
    }

    /// <summary>
    /// The executor's number of a byte register: AL-BL 0-3, AH-BH 4-7, R8L-R15L 8-15, and SPL-DIL (REX only)
    /// <see cref="DecodedInstruction.ByteRegisterRexBase"/> + 4..7.
    /// </summary>
    private static byte ByteRegisterNumber(Register r)
    {
        int n = r - Register.AL; // Iced's order: AL CL DL BL AH CH DH BH SPL BPL SIL DIL R8L..R15L
        return (byte)(n < 8 ? n : n < 12 ? DecodedInstruction.ByteRegisterRexBase + n - 4 : n - 4);
    }

    private static void SetInvalid(ref DecodedInstruction d)
    {
        d.Op = Op.Invalid;
        d.EndsBlock = true;
    }

    private static Op MapMnemonic(in Instruction ins, ref DecodedInstruction d, int opSize, bool code64)
    {
        // Near branches and stack operations default to 64 bits in 64-bit mode (Intel SDM Vol. 1, 3.6.1; Intel's
        // processors ignore 66h on near branches there, as Iced's default decoding does).
        int branchSize = code64 ? 8 : opSize;
        int stackSize = code64 ? (opSize == 2 ? 2 : 8) : opSize;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Mov:
                if (d.Kind0 == OperandKind.Segment)
                {
                    // Intel SDM Vol. 2B, MOV: loading CS with MOV is #UD.
                    if (d.Reg0 == Cs)
                    {
                        return Op.Invalid;
                    }

                    d.EndsBlock = d.Reg0 == Ss;
                    return Op.MovToSegment;
                }

                if (d.Kind0 == OperandKind.Control)
                {
                    d.EndsBlock = true;
                    return Op.MovToCr;
                }

                if (d.Kind1 == OperandKind.Control)
                {
                    return Op.MovFromCr;
                }

                if (d.Kind1 == OperandKind.Segment && d.Kind0 == OperandKind.Memory)
                {
                    d.OpSize = 2;
                }

                return Op.Mov;
            case Mnemonic.Movzx: return Op.Movzx;
            case Mnemonic.Movsx: return Op.Movsx;
            case Mnemonic.Movsxd: return Op.Movsx;
            case Mnemonic.Cdqe: return Op.Cdqe;
            case Mnemonic.Cqo: return Op.Cqo;
            case Mnemonic.Cmpxchg16b: return d.Kind0 == OperandKind.Memory ? Op.Cmpxchg16b : Op.Invalid;
            case Mnemonic.Swapgs:
                d.EndsBlock = true;
                return Op.Swapgs;
            case Mnemonic.Syscall:
                d.EndsBlock = true;
                return Op.Syscall;
            case Mnemonic.Sysret:
            case Mnemonic.Sysretq:
                d.EndsBlock = true;
                d.OpSize = (byte)opSize;
                return Op.Sysret;
            case Mnemonic.Rdtscp: return Op.Rdtscp;
            case Mnemonic.Rdfsbase:
            case Mnemonic.Rdgsbase:
            case Mnemonic.Wrfsbase:
            case Mnemonic.Wrgsbase:
                // Reg2: the segment whose base is read or written (FS 4, GS 5); the register operand gives the size.
                d.Reg2 = (byte)(ins.Mnemonic is Mnemonic.Rdfsbase or Mnemonic.Wrfsbase ? 4 : 5);
                return d.Kind0 != OperandKind.Register ? Op.Invalid
                    : ins.Mnemonic is Mnemonic.Rdfsbase or Mnemonic.Rdgsbase ? Op.RdFsGsBase : Op.WrFsGsBase;
            case Mnemonic.Lea: return Op.Lea;
            case Mnemonic.Xchg: return Op.Xchg;
            case Mnemonic.Nop:
            case Mnemonic.Pause:
            case Mnemonic.Reservednop:
                return Op.Nop;
            case Mnemonic.Invd:
            case Mnemonic.Wbinvd:
                return Op.Wbinvd;
            case Mnemonic.Add: return Op.Add;
            case Mnemonic.Or: return Op.Or;
            case Mnemonic.Adc: return Op.Adc;
            case Mnemonic.Sbb: return Op.Sbb;
            case Mnemonic.And: return Op.And;
            case Mnemonic.Sub: return Op.Sub;
            case Mnemonic.Xor: return Op.Xor;
            case Mnemonic.Cmp: return Op.Cmp;
            case Mnemonic.Test: return Op.Test;
            case Mnemonic.Inc: return Op.Inc;
            case Mnemonic.Dec: return Op.Dec;
            case Mnemonic.Neg: return Op.Neg;
            case Mnemonic.Not: return Op.Not;
            case Mnemonic.Mul: return Op.Mul;
            case Mnemonic.Imul: return ins.OpCount switch { 1 => Op.Imul1, 2 => Op.Imul2, _ => Op.Imul3 };
            case Mnemonic.Div: return Op.Div;
            case Mnemonic.Idiv: return Op.Idiv;
            case Mnemonic.Daa: return Op.Daa;
            case Mnemonic.Das: return Op.Das;
            case Mnemonic.Aaa: return Op.Aaa;
            case Mnemonic.Aas: return Op.Aas;
            case Mnemonic.Aam: return Op.Aam;
            case Mnemonic.Aad: return Op.Aad;
            case Mnemonic.Salc: return Op.Salc;
            case Mnemonic.Rol: return Op.Rol;
            case Mnemonic.Ror: return Op.Ror;
            case Mnemonic.Rcl: return Op.Rcl;
            case Mnemonic.Rcr: return Op.Rcr;
            case Mnemonic.Shl:
            case Mnemonic.Sal:
                return Op.Shl;
            case Mnemonic.Shr: return Op.Shr;
            case Mnemonic.Sar: return Op.Sar;
            case Mnemonic.Shld: return Op.Shld;
            case Mnemonic.Shrd: return Op.Shrd;
            case Mnemonic.Bt: return Op.Bt;
            case Mnemonic.Bts: return Op.Bts;
            case Mnemonic.Btr: return Op.Btr;
            case Mnemonic.Btc: return Op.Btc;
            case Mnemonic.Bsf: return Op.Bsf;
            case Mnemonic.Bsr: return Op.Bsr;

            // Intel SDM Vol. 2B, TZCNT/LZCNT: on a processor that does not report BMI1 (or LZCNT), F3 0F BC/BD
            // execute as BSF/BSR, the REP prefix ignored. Compilers rely on this (Linux's find_first_bit uses
            // "rep bsf"); our CPUID reports neither feature.
            case Mnemonic.Tzcnt: return Op.Bsf;
            case Mnemonic.Lzcnt: return Op.Bsr;
            case Mnemonic.Bswap: return Op.Bswap;
            case Mnemonic.Xadd: return Op.Xadd;
            case Mnemonic.Cmpxchg: return Op.Cmpxchg;
            case Mnemonic.Cmpxchg8b: return Op.Cmpxchg8b;
            case Mnemonic.Cmovo:
            case Mnemonic.Cmovno:
            case Mnemonic.Cmovb:
            case Mnemonic.Cmovae:
            case Mnemonic.Cmove:
            case Mnemonic.Cmovne:
            case Mnemonic.Cmovbe:
            case Mnemonic.Cmova:
            case Mnemonic.Cmovs:
            case Mnemonic.Cmovns:
            case Mnemonic.Cmovp:
            case Mnemonic.Cmovnp:
            case Mnemonic.Cmovl:
            case Mnemonic.Cmovge:
            case Mnemonic.Cmovle:
            case Mnemonic.Cmovg:
                return Op.Cmovcc;
            case Mnemonic.Seto:
            case Mnemonic.Setno:
            case Mnemonic.Setb:
            case Mnemonic.Setae:
            case Mnemonic.Sete:
            case Mnemonic.Setne:
            case Mnemonic.Setbe:
            case Mnemonic.Seta:
            case Mnemonic.Sets:
            case Mnemonic.Setns:
            case Mnemonic.Setp:
            case Mnemonic.Setnp:
            case Mnemonic.Setl:
            case Mnemonic.Setge:
            case Mnemonic.Setle:
            case Mnemonic.Setg:
                return Op.Setcc;
            case Mnemonic.Cbw: return Op.Cbw;
            case Mnemonic.Cwde: return Op.Cwde;
            case Mnemonic.Cwd: return Op.Cwd;
            case Mnemonic.Cdq: return Op.Cdq;
            case Mnemonic.Lahf: return Op.Lahf;
            case Mnemonic.Sahf: return Op.Sahf;
            case Mnemonic.Xlatb:
                d.OpSize = 1;
                d.Seg = (byte)(ins.MemorySegment - Register.ES);
                return Op.Xlat;
            case Mnemonic.Push:
                d.OpSize = (byte)-ins.StackPointerIncrement;
                return Op.Push;
            case Mnemonic.Pop:
                d.OpSize = (byte)ins.StackPointerIncrement;
                if (d.Kind0 == OperandKind.Segment)
                {
                    d.EndsBlock = d.Reg0 == Ss;
                }

                return Op.Pop;
            case Mnemonic.Pusha:
            case Mnemonic.Pushad:
                d.OpSize = (byte)opSize;
                return Op.Pusha;
            case Mnemonic.Popa:
            case Mnemonic.Popad:
                d.OpSize = (byte)opSize;
                return Op.Popa;
            case Mnemonic.Pushf:
            case Mnemonic.Pushfd:
            case Mnemonic.Pushfq:
                d.OpSize = (byte)stackSize;
                return Op.Pushf;
            case Mnemonic.Popf:
            case Mnemonic.Popfd:
            case Mnemonic.Popfq:
                d.OpSize = (byte)stackSize;
                d.EndsBlock = true;
                return Op.Popf;
            case Mnemonic.Lds:
            case Mnemonic.Les:
            case Mnemonic.Lss:
            case Mnemonic.Lfs:
            case Mnemonic.Lgs:
                d.Reg2 = (byte)(ins.Mnemonic switch { Mnemonic.Lds => Ds, Mnemonic.Les => Es, Mnemonic.Lss => Ss, Mnemonic.Lfs => 4, _ => 5 });
                return d.Kind1 == OperandKind.Memory ? Op.LoadFarPointer : Op.Invalid;
            case Mnemonic.Enter:
                d.OpSize = (byte)stackSize;
                return Op.Enter;
            case Mnemonic.Leave:
                d.OpSize = (byte)stackSize;
                return Op.Leave;
            case Mnemonic.Bound: return d.Kind1 == OperandKind.Memory ? Op.Bound : Op.Invalid;
            case Mnemonic.Jmp:
                d.EndsBlock = true;
                d.OpSize = (byte)(ins.IsJmpFarIndirect ? opSize : branchSize);
                if (ins.IsJmpFar)
                {
                    return Op.JmpFar;
                }

                if (ins.IsJmpFarIndirect)
                {
                    return d.Kind0 == OperandKind.Memory ? Op.JmpFarIndirect : Op.Invalid;
                }

                return d.Kind0 == OperandKind.Immediate ? Op.JmpRel : Op.JmpIndirect;
            case Mnemonic.Call:
                d.EndsBlock = true;
                d.OpSize = (byte)(ins.IsCallFarIndirect ? opSize : branchSize);
                if (ins.IsCallFar)
                {
                    return Op.CallFar;
                }

                if (ins.IsCallFarIndirect)
                {
                    return d.Kind0 == OperandKind.Memory ? Op.CallFarIndirect : Op.Invalid;
                }

                return d.Kind0 == OperandKind.Immediate ? Op.CallRel : Op.CallIndirect;
            case Mnemonic.Jo:
            case Mnemonic.Jno:
            case Mnemonic.Jb:
            case Mnemonic.Jae:
            case Mnemonic.Je:
            case Mnemonic.Jne:
            case Mnemonic.Jbe:
            case Mnemonic.Ja:
            case Mnemonic.Js:
            case Mnemonic.Jns:
            case Mnemonic.Jp:
            case Mnemonic.Jnp:
            case Mnemonic.Jl:
            case Mnemonic.Jge:
            case Mnemonic.Jle:
            case Mnemonic.Jg:
                // Conditional branches do not end a block: decoding continues on the fall-through path and a taken branch
                // leaves the block (a trace with side exits), so loops with an if inside run in fewer blocks.
                d.OpSize = (byte)branchSize;
                return Op.Jcc;
            case Mnemonic.Jcxz:
            case Mnemonic.Jecxz:
            case Mnemonic.Jrcxz:
                d.EndsBlock = true;
                d.OpSize = (byte)branchSize;
                d.AddrSize = (byte)(ins.Mnemonic switch { Mnemonic.Jcxz => 2, Mnemonic.Jecxz => 4, _ => 8 });
                return Op.Jcxz;
            case Mnemonic.Loop:
            case Mnemonic.Loope:
            case Mnemonic.Loopne:
                d.EndsBlock = true;
                d.OpSize = (byte)branchSize;
                return ins.Mnemonic == Mnemonic.Loop ? Op.Loop : ins.Mnemonic == Mnemonic.Loope ? Op.Loope : Op.Loopne;
            case Mnemonic.Ret:
                d.EndsBlock = true;
                d.OpSize = (byte)branchSize;
                return Op.RetNear;
            case Mnemonic.Retf:
                d.EndsBlock = true;
                d.OpSize = (byte)opSize;
                return Op.RetFar;
            case Mnemonic.Int:
                d.EndsBlock = true;
                return Op.Int;
            case Mnemonic.Int3:
                d.EndsBlock = true;
                return Op.Int3;
            case Mnemonic.Into:
                d.EndsBlock = true;
                return Op.Into;
            case Mnemonic.Int1:
                d.EndsBlock = true;
                return Op.Int1;
            case Mnemonic.Iret:
            case Mnemonic.Iretd:
            case Mnemonic.Iretq:
                d.EndsBlock = true;
                d.OpSize = (byte)opSize;
                return Op.Iret;
            case Mnemonic.Hlt:
                d.EndsBlock = true;
                return Op.Hlt;
            case Mnemonic.Cli: return Op.Cli;
            case Mnemonic.Sti:
                d.EndsBlock = true;
                return Op.Sti;
            case Mnemonic.Clc: return Op.Clc;
            case Mnemonic.Stc: return Op.Stc;
            case Mnemonic.Cmc: return Op.Cmc;
            case Mnemonic.Cld: return Op.Cld;
            case Mnemonic.Std: return Op.Std;
            case Mnemonic.Cpuid: return Op.Cpuid;
            case Mnemonic.Rdtsc: return Op.Rdtsc;
            case Mnemonic.Wait: return Op.Wait;
            case Mnemonic.In:
                d.EndsBlock = true;
                return Op.In;
            case Mnemonic.Out:
                d.EndsBlock = true;
                d.OpSize = d.Size1;
                return Op.Out;
            case Mnemonic.Movsb:
            case Mnemonic.Movsw:
            case Mnemonic.Movsd:
            case Mnemonic.Movsq:
                d.OpSize = StringSize(ins.Mnemonic);
                return ins.Mnemonic == Mnemonic.Movsd && ins.Code != Code.Movsd_m32_m32 ? Op.Invalid : Op.Movs;
            case Mnemonic.Cmpsb:
            case Mnemonic.Cmpsw:
            case Mnemonic.Cmpsd:
            case Mnemonic.Cmpsq:
                d.OpSize = StringSize(ins.Mnemonic);
                return ins.Mnemonic == Mnemonic.Cmpsd && ins.Code != Code.Cmpsd_m32_m32 ? Op.Invalid : Op.Cmps;
            case Mnemonic.Scasb:
            case Mnemonic.Scasw:
            case Mnemonic.Scasd:
            case Mnemonic.Scasq:
                d.OpSize = StringSize(ins.Mnemonic);
                return Op.Scas;
            case Mnemonic.Lodsb:
            case Mnemonic.Lodsw:
            case Mnemonic.Lodsd:
            case Mnemonic.Lodsq:
                d.OpSize = StringSize(ins.Mnemonic);
                return Op.Lods;
            case Mnemonic.Stosb:
            case Mnemonic.Stosw:
            case Mnemonic.Stosd:
            case Mnemonic.Stosq:
                d.OpSize = StringSize(ins.Mnemonic);
                return Op.Stos;
            case Mnemonic.Insb:
            case Mnemonic.Insw:
            case Mnemonic.Insd:
                d.OpSize = StringSize(ins.Mnemonic);
                d.EndsBlock = true;
                return Op.Ins;
            case Mnemonic.Outsb:
            case Mnemonic.Outsw:
            case Mnemonic.Outsd:
                d.OpSize = StringSize(ins.Mnemonic);
                d.EndsBlock = true;
                return Op.Outs;
            case Mnemonic.Lgdt:
            case Mnemonic.Lidt:
            case Mnemonic.Sgdt:
            case Mnemonic.Sidt:
                // The operand is a 6-byte pseudo-descriptor whatever the operand size; the size only decides how much base loads.
                // In 64-bit mode it is 10 bytes, an 8-byte base (Intel SDM Vol. 2A, LGDT/LIDT).
                d.OpSize = (byte)(code64 ? 8 : opSize);
                return d.Kind0 != OperandKind.Memory ? Op.Invalid
                    : ins.Mnemonic switch { Mnemonic.Lgdt => Op.Lgdt, Mnemonic.Lidt => Op.Lidt, Mnemonic.Sgdt => Op.Sgdt, _ => Op.Sidt };
            case Mnemonic.Smsw: return Op.Smsw;
            case Mnemonic.Lmsw:
                d.EndsBlock = true;
                return Op.Lmsw;
            case Mnemonic.Clts: return Op.Clts;
            case Mnemonic.Invlpg: return Op.Invlpg;
            case Mnemonic.Invpcid: return Op.Invpcid;
            case Mnemonic.Lldt: return Op.Lldt;
            case Mnemonic.Sldt: return Op.Sldt;
            case Mnemonic.Ltr: return Op.Ltr;
            case Mnemonic.Str: return Op.Str;
            case Mnemonic.Arpl: return Op.Arpl;
            case Mnemonic.Lar: return Op.Lar;
            case Mnemonic.Lsl: return Op.Lsl;
            case Mnemonic.Verr: return Op.Verr;
            case Mnemonic.Verw: return Op.Verw;
            case Mnemonic.Rdmsr: return Op.Rdmsr;
            case Mnemonic.Wrmsr:
                d.EndsBlock = true;
                return Op.Wrmsr;
            case Mnemonic.Sysenter:
                d.EndsBlock = true;
                return Op.Sysenter;
            case Mnemonic.Sysexit:
            case Mnemonic.Sysexitq:
                d.EndsBlock = true;
                d.OpSize = (byte)opSize;
                return Op.Sysexit;
            default:
                // UD0/UD1/UD2, ARPL/LAR/LSL/SLDT/STR/LLDT/LTR/VERR/VERW (#UD in real mode, Intel SDM Vol. 2), and everything not implemented.
                return Op.Invalid;
        }
    }

    private static byte StringSize(Mnemonic mnemonic) => mnemonic switch
    {
        Mnemonic.Movsb or Mnemonic.Cmpsb or Mnemonic.Scasb or Mnemonic.Lodsb or Mnemonic.Stosb or Mnemonic.Insb or Mnemonic.Outsb => 1,
        Mnemonic.Movsw or Mnemonic.Cmpsw or Mnemonic.Scasw or Mnemonic.Lodsw or Mnemonic.Stosw or Mnemonic.Insw or Mnemonic.Outsw => 2,
        Mnemonic.Movsq or Mnemonic.Cmpsq or Mnemonic.Scasq or Mnemonic.Lodsq or Mnemonic.Stosq => 8,
        _ => 4,
    };

    /// <summary>
    /// Translate's hook for the MMX and SSE families (MMX, SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2 in their legacy encodings)
    /// and the state instructions FXSAVE/FXRSTOR and XSAVE/XRSTOR/XGETBV/XSETBV (which make their own checks):
    /// <see cref="Op.Simd"/> with Iced's <see cref="Code"/> and the <see cref="SimdChecks"/> class in
    /// <see cref="DecodedInstruction.Cond"/>; the operands were resolved by the operand loop (XMM and MMX registers by number).
    /// </summary>
    /// <returns>True when the instruction belongs to these families.</returns>
    private static bool TranslateSimd(in Instruction ins, ref DecodedInstruction d, bool unsupported)
    {
        if (ins.Code.ToOpCode().Encoding != EncodingKind.Legacy || !IsSimdFamily(ins.Code.CpuidFeatures()))
        {
            return false;
        }

        Mnemonic mnemonic = ins.Mnemonic;
        if (mnemonic is Mnemonic.Pause or Mnemonic.Fisttp)
        {
            return false;
        }

        // Intel SDM Vol. 2A, LOCK: #UD on every SIMD instruction.
        if (unsupported || ins.HasLockPrefix)
        {
            SetInvalid(ref d);
            return true;
        }

        bool xmm = mnemonic is Mnemonic.Ldmxcsr or Mnemonic.Stmxcsr;
        bool mmx = mnemonic == Mnemonic.Emms;
        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) == OpKind.Register)
            {
                Register r = ins.GetOpRegister(i);
                xmm |= r.IsXMM();
                mmx |= r.IsMM();
            }
        }

        d.Op = Op.Simd;
        d.Code = ins.Code;
        d.Cond = (byte)((xmm ? SimdChecks.Sse : SimdChecks.None) | (mmx ? SimdChecks.Mmx : SimdChecks.None));
        return true;
    }

    private static bool IsSimdFamily(CpuidFeature[] features)
    {
        foreach (CpuidFeature feature in features)
        {
            if (feature is CpuidFeature.MMX or CpuidFeature.SSE or CpuidFeature.SSE2 or CpuidFeature.SSE3 or CpuidFeature.SSSE3
                or CpuidFeature.SSE4_1 or CpuidFeature.SSE4_2 or CpuidFeature.POPCNT or CpuidFeature.CLFSH or CpuidFeature.FXSR
                or CpuidFeature.XSAVE)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Translate's hook for D8-DF (with or without a folded 9B): <see cref="Op.Esc"/> with the 11-bit FOP in
    /// <see cref="DecodedInstruction.Imm"/>; the memory operand's recipe was already filled in by the operand loop.
    /// </summary>
    /// <returns>True when the instruction was an x87 one.</returns>
    private static bool TranslateX87(in Instruction ins, ref DecodedInstruction d, ReadOnlySpan<byte> bytes, in LegacyPrefixes prefixes, int opSize)
    {
        if (ins.HasLockPrefix && ins.OpCode.OpCode is >= 0xD8 and <= 0xDF)
        {
            // Intel SDM Vol. 2A, LOCK: #UD on any instruction that cannot be locked.
            SetInvalid(ref d);
            return true;
        }

        int i = prefixes.OpcodeIndex;
        bool wait = prefixes.Wait;
        if (i + 1 >= bytes.Length || bytes[i] is < 0xD8 or > 0xDF)
        {
            return false;
        }

        d.Op = Op.Esc;
        int fop = ((bytes[i] & 7) << 8) | bytes[i + 1];
        d.Imm = (uint)fop | (wait ? Cpu.X87WaitPrefix : 0) | Cpu.X87FormBits(fop);
        d.OpSize = (byte)opSize;
        d.Kind1 = OperandKind.None;
        return true;
    }

    /// <summary>Picks the specialised form for a translated instruction, when one applies (after the register forms).</summary>
    private static void SelectMemoryFastForm(ref DecodedInstruction d, in Instruction ins)
    {
        if (ins.HasLockPrefix || d.AddrSize != 4)
        {
            return;
        }

        if (d.OpSize != 4)
        {
            // Byte and word moves: MOV r8, m8 and MOV m8/m16, r/imm (LZMA's literal bytes and 16-bit probabilities).
            if (d.Op == Op.Mov && d.OpSize is 1 or 2)
            {
                if (d.Kind0 == OperandKind.Register && d.Kind1 == OperandKind.Memory && d.OpSize == 1)
                {
                    d.Op = Op.Load8;
                }
                else if (d.Kind0 == OperandKind.Memory && d.Kind1 is OperandKind.Register or OperandKind.Immediate)
                {
                    d.Op = d.OpSize == 1 ? Op.Store8 : Op.Store16;
                }
            }

            return;
        }

        if (d.Kind0 == OperandKind.Register && d.Kind1 == OperandKind.Memory)
        {
            d.Op = d.Op switch
            {
                Op.Mov => Op.Load32,
                Op.Movzx when d.Size1 == 1 => Op.LoadZx8,
                Op.Movzx when d.Size1 == 2 => Op.LoadZx16,
                Op.Movsx when d.Size1 == 1 => Op.LoadSx8,
                Op.Movsx when d.Size1 == 2 => Op.LoadSx16,
                Op.Add => Op.AddLoad32,
                Op.Sub => Op.SubLoad32,
                Op.Cmp => Op.CmpLoad32,
                Op.And => Op.AndLoad32,
                Op.Or => Op.OrLoad32,
                Op.Xor => Op.XorLoad32,
                _ => d.Op,
            };
        }
        else if (d.Kind0 == OperandKind.Memory && d.Kind1 is OperandKind.Register or OperandKind.Immediate)
        {
            d.Op = d.Op switch
            {
                Op.Mov => Op.Store32,
                Op.Cmp => Op.CmpMem32,
                Op.Add => Op.AddMem32,
                Op.Sub => Op.SubMem32,
                _ => d.Op,
            };
        }
        else if (d.Kind0 == OperandKind.Memory && d.Op is Op.Inc or Op.Dec)
        {
            d.Op = d.Op == Op.Inc ? Op.IncMem32 : Op.DecMem32;
        }
    }

    /// <summary>Picks the 64-bit-mode memory fast form (64-bit addressing), when one applies.</summary>
    private static void SelectLongMemoryFastForm(ref DecodedInstruction d, in Instruction ins)
    {
        if (ins.HasLockPrefix || d.AddrSize != 8)
        {
            return;
        }

        // MOVZX/MOVSX r32/r64, m8/m16 and MOVSXD r64, m32 (compilers' byte and word loads), MOV r8, m8, MOV m8/m16, r/imm.
        if (d.Kind0 == OperandKind.Register && d.Kind1 == OperandKind.Memory && d.OpSize is 4 or 8 && d.Op is Op.Movzx or Op.Movsx)
        {
            d.Op = d.Op == Op.Movzx ? Op.LoadZxLong : Op.LoadSxLong;
            return;
        }

        if (d.Op == Op.Mov && d.OpSize is 1 or 2)
        {
            if (d.Kind0 == OperandKind.Register && d.Kind1 == OperandKind.Memory && d.OpSize == 1)
            {
                d.Op = Op.Load8Long;
            }
            else if (d.Kind0 == OperandKind.Memory && d.Kind1 is OperandKind.Register or OperandKind.Immediate)
            {
                d.Op = Op.StoreNarrowLong;
            }

            return;
        }

        if (d.OpSize is not (4 or 8))
        {
            return;
        }

        if (d.Kind0 == OperandKind.Memory && d.Op is Op.Inc or Op.Dec)
        {
            d.Op = d.Op == Op.Inc ? Op.IncMemLong : Op.DecMemLong;
            return;
        }

        if (d.Kind0 == OperandKind.Register && d.Kind1 == OperandKind.Memory)
        {
            d.Op = d.Op switch
            {
                Op.Mov => Op.LoadLong,
                Op.Add => Op.AddLoadLong,
                Op.Sub => Op.SubLoadLong,
                Op.Cmp => Op.CmpLoadLong,
                Op.And => Op.AndLoadLong,
                Op.Or => Op.OrLoadLong,
                Op.Xor => Op.XorLoadLong,
                _ => d.Op,
            };
        }
        else if (d.Kind0 == OperandKind.Memory && d.Kind1 is OperandKind.Register or OperandKind.Immediate)
        {
            d.Op = d.Op switch
            {
                Op.Mov => Op.StoreLong,
                Op.Cmp => Op.CmpMemLong,
                Op.Add => Op.AddMemLong,
                Op.Sub => Op.SubMemLong,
                _ => d.Op,
            };
        }
    }

    /// <summary>Picks a register-only shift or multiply form for a translated instruction, when one applies.</summary>
    private static void SelectRegisterFastForm(ref DecodedInstruction d, in Instruction ins)
    {
        if (d.Kind0 != OperandKind.Register || d.OpSize is not (4 or 8) || ins.HasLockPrefix)
        {
            return;
        }

        // The count operand: an immediate or CL (Iced reports CL as an 8-bit register operand, number 1).
        bool countOk = d.Kind1 == OperandKind.Immediate || (d.Kind1 == OperandKind.Register && d.Reg1 == RegCx && d.Size1 == 1);
        if (d.OpSize == 8)
        {
            d.Op = d.Op switch
            {
                Op.Shl when countOk => Op.ShlRegister64,
                Op.Shr when countOk => Op.ShrRegister64,
                Op.Sar when countOk => Op.SarRegister64,
                Op.Imul2 when d.Kind1 == OperandKind.Register => Op.ImulRegister64,
                Op.Imul3 when d.Kind1 == OperandKind.Register => Op.ImulRegister64,
                _ => d.Op,
            };
            return;
        }

        d.Op = d.Op switch
        {
            Op.Shl when countOk => Op.ShlRegister32,
            Op.Shr when countOk => Op.ShrRegister32,
            Op.Sar when countOk => Op.SarRegister32,
            Op.Imul2 when d.Kind1 == OperandKind.Register => Op.ImulRegister32,
            Op.Imul3 when d.Kind1 == OperandKind.Register => Op.ImulRegister32,
            _ => d.Op,
        };
    }
}
