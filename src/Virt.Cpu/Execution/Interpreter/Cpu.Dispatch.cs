using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>The interpreter's block loop and its dispatch switch from <see cref="Op"/> to the instruction families.</summary>
public sealed partial class Cpu
{
    /// <summary>
    /// The interpreter's loop (see <see cref="Interpreter"/> and the <see cref="IExecutionEngine"/> contract): each
    /// instruction records its start, advances EIP and runs through the dispatch switch, until the count or a block exit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int InterpretBlock(DecodedBlock block, int count)
    {
        ref CpuContext ctx = ref _ctx;
        DecodedInstruction[] instructions = block.Instructions;
        ulong ipMask = ctx.IpMask;
        int executed = 0;
        while (executed < count)
        {
            ref DecodedInstruction d = ref instructions[executed];
            ctx.InstructionStart = ctx.Rip;
            ctx.Rip = (ctx.Rip + d.Length) & ipMask;
            Execute(ref d);
            executed++;
            if (_exitBlock)
            {
                break;
            }
        }

        return executed;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.AggressiveInlining)]
    private void Execute(ref DecodedInstruction d)
    {
        switch (d.Op)
        {
            case Op.MovRegister:
                WriteRegister(d.Reg0, d.OpSize, d.Kind1 == OperandKind.Immediate ? d.Imm : ReadRegister(d.Reg1, d.OpSize));
                break;
            // Branches come first: the JIT inlines in this order until its budget for the run loop is spent, and a taken
            // branch must not pay a call for JumpNear or Condition.
            case Op.JmpRel: JumpNear(_ctx.Rip + d.Imm, d.OpSize); break;
            case Op.Jcc:
                if (Condition(d.Cond))
                {
                    JumpNear(_ctx.Rip + d.Imm, d.OpSize);
                    _exitBlock = true;
                }

                break;
            case Op.AddRegister: ExecuteAluRegister<AddOperation>(ref d); break;
            case Op.SubRegister: ExecuteAluRegister<SubOperation>(ref d); break;
            case Op.CmpRegister: ExecuteAluRegister<CmpOperation>(ref d); break;
            case Op.AndRegister: ExecuteAluRegister<AndOperation>(ref d); break;
            case Op.TestRegister: ExecuteAluRegister<TestOperation>(ref d); break;
            case Op.OrRegister: ExecuteAluRegister<OrOperation>(ref d); break;
            case Op.XorRegister: ExecuteAluRegister<XorOperation>(ref d); break;
            case Op.IncRegister: ExecuteIncDecRegister(ref d, increment: true); break;
            case Op.DecRegister: ExecuteIncDecRegister(ref d, increment: false); break;
            case Op.Load32: ExecuteLoad(ref d, 4, signExtend: false); break;
            case Op.LoadZx8: ExecuteLoad(ref d, 1, signExtend: false); break;
            case Op.LoadZx16: ExecuteLoad(ref d, 2, signExtend: false); break;
            case Op.LoadSx8:
            case Op.LoadSx16:
                ExecuteLoadSignExtend(ref d);
                break;
            case Op.Store32: ExecuteStore(ref d, 4); break;
            case Op.Store8:
            case Op.Store16:
                ExecuteStoreNarrow(ref d);
                break;
            case Op.Load8: ExecuteLoad8(ref d); break;
            case Op.AddMem32:
            case Op.SubMem32:
            case Op.IncMem32:
            case Op.DecMem32:
                ExecuteRmw32(ref d, d.Op);
                break;
            case Op.AddLoad32: ExecuteAlu<RegisterDestination, FlatMemorySource, AddOperation>(ref d, 4); break;
            case Op.SubLoad32: ExecuteAlu<RegisterDestination, FlatMemorySource, SubOperation>(ref d, 4); break;
            case Op.CmpLoad32: ExecuteAlu<RegisterDestination, FlatMemorySource, CmpOperation>(ref d, 4); break;
            case Op.AndLoad32: ExecuteAlu<RegisterDestination, FlatMemorySource, AndOperation>(ref d, 4); break;
            case Op.OrLoad32: ExecuteAlu<RegisterDestination, FlatMemorySource, OrOperation>(ref d, 4); break;
            case Op.XorLoad32: ExecuteAlu<RegisterDestination, FlatMemorySource, XorOperation>(ref d, 4); break;
            case Op.CmpMem32: ExecuteAlu<FlatMemoryDestination, RegisterOrImmediateSource, CmpOperation>(ref d, 4); break;
            case Op.LoadLong: ExecuteLoadLong(ref d); break;
            case Op.StoreLong: ExecuteStoreLong(ref d); break;
            case Op.AddLoadLong:
            case Op.SubLoadLong:
            case Op.CmpLoadLong:
            case Op.AndLoadLong:
            case Op.OrLoadLong:
            case Op.XorLoadLong:
            case Op.AddMemLong:
            case Op.SubMemLong:
            case Op.CmpMemLong:
                ExecuteAluLong(ref d);
                break;
            case Op.ShlRegister32: ExecuteShiftRegister32(ref d, Op.ShlRegister32); break;
            case Op.ShrRegister32: ExecuteShiftRegister32(ref d, Op.ShrRegister32); break;
            case Op.SarRegister32: ExecuteShiftRegister32(ref d, Op.SarRegister32); break;
            case Op.ImulRegister32: ExecuteImulRegister32(ref d); break;
            case Op.LoadZxLong:
            case Op.LoadSxLong:
            case Op.Load8Long:
            case Op.StoreNarrowLong:
            case Op.IncMemLong:
            case Op.DecMemLong:
                ExecuteNarrowLong(ref d);
                break;
            case Op.ShlRegister64:
            case Op.ShrRegister64:
            case Op.SarRegister64:
                ExecuteShiftRegister64(ref d);
                break;
            case Op.ImulRegister64: ExecuteImulRegister64(ref d); break;
            case Op.Nop: break;
            case Op.Mov: ExecuteMov(ref d); break;
            case Op.MovToSegment: ExecuteMovToSegment(ref d); break;
            case Op.Movzx: ExecuteMovzx(ref d, signExtend: false); break;
            case Op.Movsx: ExecuteMovzx(ref d, signExtend: true); break;
            case Op.Lea: WriteRegister(d.Reg0, d.OpSize, EffectiveAddress(ref d)); break;
            case Op.Xchg: ExecuteXchg(ref d); break;
            case Op.Add: ExecuteAluGeneric<AddOperation>(ref d); break;
            case Op.Adc: ExecuteAluGeneric<AdcOperation>(ref d); break;
            case Op.Sub: ExecuteAluGeneric<SubOperation>(ref d); break;
            case Op.Sbb: ExecuteAluGeneric<SbbOperation>(ref d); break;
            case Op.Cmp: ExecuteAluGeneric<CmpOperation>(ref d); break;
            case Op.And: ExecuteAluGeneric<AndOperation>(ref d); break;
            case Op.Or: ExecuteAluGeneric<OrOperation>(ref d); break;
            case Op.Xor: ExecuteAluGeneric<XorOperation>(ref d); break;
            case Op.Test: ExecuteAluGeneric<TestOperation>(ref d); break;
            case Op.Inc: ExecuteIncDecGeneric(ref d, increment: true); break;
            case Op.Dec: ExecuteIncDecGeneric(ref d, increment: false); break;
            case Op.Neg: ExecuteNeg(ref d); break;
            case Op.Not: ExecuteNot(ref d); break;
            case Op.Mul: ExecuteMul(ref d); break;
            case Op.Imul1: ExecuteImul1(ref d); break;
            case Op.Imul2: ExecuteImulN(ref d, threeOperand: false); break;
            case Op.Imul3: ExecuteImulN(ref d, threeOperand: true); break;
            case Op.Div: ExecuteDiv(ref d); break;
            case Op.Idiv: ExecuteIdiv(ref d); break;
            case Op.Daa: ExecuteDaa(subtract: false); break;
            case Op.Das: ExecuteDaa(subtract: true); break;
            case Op.Aaa: ExecuteAaa(subtract: false); break;
            case Op.Aas: ExecuteAaa(subtract: true); break;
            case Op.Aam: ExecuteAam(ref d); break;
            case Op.Aad: ExecuteAad(ref d); break;
            case Op.Salc: WriteRegister(RegAx, 1, GetCarry() ? 0xFFu : 0u); break;
            case Op.Rol:
            case Op.Ror:
            case Op.Rcl:
            case Op.Rcr:
            case Op.Shl:
            case Op.Shr:
            case Op.Sar:
                ExecuteShift(ref d);
                break;
            case Op.Shld: ExecuteDoubleShift(ref d, left: true); break;
            case Op.Shrd: ExecuteDoubleShift(ref d, left: false); break;
            case Op.Bt:
            case Op.Bts:
            case Op.Btr:
            case Op.Btc:
                ExecuteBitTest(ref d);
                break;
            case Op.Bsf: ExecuteBitScan(ref d, forward: true); break;
            case Op.Bsr: ExecuteBitScan(ref d, forward: false); break;
            case Op.Bswap: ExecuteBswap(ref d); break;
            case Op.Xadd: ExecuteXadd(ref d); break;
            case Op.Cmpxchg: ExecuteCmpxchg(ref d); break;
            case Op.Cmpxchg8b: ExecuteCmpxchg8b(ref d); break;
            case Op.Cmovcc: ExecuteCmov(ref d); break;
            case Op.Setcc: WriteOperand0(ref d, 1, Condition(d.Cond) ? 1u : 0u); break;
            case Op.Cbw: WriteRegister(RegAx, 2, (ulong)(long)(sbyte)_ctx.Gpr[RegAx]); break;
            case Op.Cwde: WriteRegister(RegAx, 4, (ulong)(long)(short)_ctx.Gpr[RegAx]); break;
            case Op.Cwd: WriteRegister(RegDx, 2, (short)_ctx.Gpr[RegAx] < 0 ? 0xFFFFu : 0u); break;
            case Op.Cdq: WriteRegister(RegDx, 4, (int)_ctx.Gpr[RegAx] < 0 ? 0xFFFFFFFFu : 0u); break;
            case Op.Cdqe: _ctx.Gpr[RegAx] = (ulong)(long)(int)_ctx.Gpr[RegAx]; break;
            case Op.Cqo: _ctx.Gpr[RegDx] = (long)_ctx.Gpr[RegAx] < 0 ? ulong.MaxValue : 0; break;
            case Op.Lahf: WriteRegister(4, 1, GetFlags() & 0xD7); break;
            case Op.Sahf: SetStatusFlags((GetFlags() & ~0xD5u) | ((uint)(_ctx.Gpr[RegAx] >> 8) & 0xD5) | (_ctx.Eflags & EflagsBits.Of)); break;
            case Op.Xlat: ExecuteXlat(ref d); break;
            case Op.Push: ExecutePush(ref d); break;
            case Op.Pop: ExecutePop(ref d); break;
            case Op.Pusha: ExecutePusha(ref d); break;
            case Op.Popa: ExecutePopa(ref d); break;
            case Op.Pushf:
                if ((_ctx.Eflags & EflagsBits.Vm) != 0)
                {
                    PushfVirtual8086(ref d);
                }
                else
                {
                    Push(d.OpSize >= 4 ? GetFlags() & EflagsBits.PushfdImage : GetFlags() & 0xFFFF, d.OpSize);
                }

                break;
            case Op.Popf: ExecutePopf(ref d); break;
            case Op.LoadFarPointer: ExecuteLoadFarPointer(ref d); break;
            case Op.Enter: ExecuteEnter(ref d); break;
            case Op.Leave: ExecuteLeave(ref d); break;
            case Op.Bound: ExecuteBound(ref d); break;
            case Op.Jcxz:
                if (ReadRegister(RegCx, d.AddrSize) == 0)
                {
                    JumpNear(_ctx.Rip + d.Imm, d.OpSize);
                }

                break;
            case Op.Loop:
            case Op.Loope:
            case Op.Loopne:
                ExecuteLoop(ref d);
                break;
            case Op.JmpIndirect: ExecuteJmpIndirect(ref d); break;
            case Op.JmpFar: JumpFar((ushort)d.Imm2, (uint)d.Imm, d.OpSize); break;
            case Op.JmpFarIndirect: ExecuteJmpFarIndirect(ref d, call: false); break;
            case Op.CallRel: ExecuteCallRel(ref d); break;
            case Op.CallIndirect: ExecuteCallIndirect(ref d); break;
            case Op.CallFar: ExecuteCallFar(ref d, (ushort)d.Imm2, (uint)d.Imm); break;
            case Op.CallFarIndirect: ExecuteJmpFarIndirect(ref d, call: true); break;
            case Op.RetNear: ExecuteRetNear(ref d); break;
            case Op.RetFar: ExecuteRetFar(ref d); break;
            case Op.Int:
                if ((_ctx.Eflags & EflagsBits.Vm) != 0)
                {
                    IntVirtual8086((int)d.Imm);
                }
                else
                {
                    DeliverSoftwareInterrupt((int)d.Imm);
                }

                break;
            case Op.Int3: DeliverSoftwareInterrupt(VectorBreakpoint); break;
            case Op.Into:
                if (Condition(0))
                {
                    DeliverSoftwareInterrupt(VectorOverflow);
                }

                break;
            case Op.Int1: DeliverInterrupt(VectorDebug, isException: false); break;
            case Op.Iret: ExecuteIret(ref d); break;
            case Op.Hlt:
                if (RequireCpl0())
                {
                    _halted = true;
                    _exitBlock = true;
                }

                break;
            case Op.Cli: ExecuteCli(); break;
            case Op.Sti: ExecuteSti(); break;
            case Op.Clc: SetFlag(EflagsBits.Cf, false); break;
            case Op.Stc: SetFlag(EflagsBits.Cf, true); break;
            case Op.Cmc: SetFlag(EflagsBits.Cf, !GetCarry()); break;
            case Op.Cld: _ctx.Eflags &= ~EflagsBits.Df; break;
            case Op.Std: _ctx.Eflags |= EflagsBits.Df; break;
            case Op.Cpuid: ExecuteCpuid(); break;
            case Op.Rdtsc: ExecuteRdtsc(); break;
            case Op.Wait: ExecuteWait(); break;
            case Op.Esc: ExecuteEsc(ref d); break;
            case Op.Simd: ExecuteSimd(ref d); break;
            case Op.In: ExecuteIn(ref d); break;
            case Op.Out: ExecuteOut(ref d); break;
            case Op.Movs: ExecuteMovs(ref d); break;
            case Op.Cmps: ExecuteCmps(ref d); break;
            case Op.Scas: ExecuteScas(ref d); break;
            case Op.Lods: ExecuteLods(ref d); break;
            case Op.Stos: ExecuteStos(ref d); break;
            case Op.Ins:
                if (CheckIoPermission((ushort)_ctx.Gpr[RegDx], d.OpSize))
                {
                    ExecuteIns(ref d);
                }

                break;
            case Op.Outs:
                if (CheckIoPermission((ushort)_ctx.Gpr[RegDx], d.OpSize))
                {
                    ExecuteOuts(ref d);
                }

                break;
            case Op.Lgdt:
            case Op.Lidt:
                if (RequireCpl0())
                {
                    ExecuteLoadDescriptorTable(ref d, idt: d.Op == Op.Lidt);
                }

                break;
            case Op.Sgdt: ExecuteStoreDescriptorTable(ref d, idt: false); break;
            case Op.Sidt: ExecuteStoreDescriptorTable(ref d, idt: true); break;
            case Op.Smsw: WriteOperand0(ref d, d.Kind0 == OperandKind.Memory ? 2 : d.OpSize, _ctx.Cr0 & (d.OpSize == 4 && d.Kind0 == OperandKind.Register ? 0xFFFFFFFF : 0xFFFF)); break;
            case Op.Lmsw:
            case Op.MovToCr:
            case Op.MovFromCr:
            case Op.Clts:
            case Op.Invlpg:
            case Op.Wbinvd:
                ExecuteControlInstruction(ref d);
                break;
            case Op.Invpcid: ExecuteInvpcid(ref d); break;
            case Op.Lldt: ExecuteLldt(ref d); break;
            case Op.Arpl: ExecuteArpl(ref d); break;
            case Op.Rdmsr: ExecuteRdmsr(); break;
            case Op.Wrmsr: ExecuteWrmsr(); break;
            case Op.Sysenter: ExecuteSysenter(); break;
            case Op.Sysexit: ExecuteSysexit(ref d); break;
            case Op.Cmpxchg16b: ExecuteCmpxchg16b(ref d); break;
            case Op.Swapgs: ExecuteSwapgs(); break;
            case Op.Syscall: ExecuteSyscall(); break;
            case Op.Sysret: ExecuteSysret(ref d); break;
            case Op.Rdtscp: ExecuteRdtscp(); break;
            case Op.RdFsGsBase: ExecuteFsGsBase(ref d, write: false); break;
            case Op.WrFsGsBase: ExecuteFsGsBase(ref d, write: true); break;
            case Op.FetchFault: ExecuteFetchFault(); break;
            case Op.CsLimitFault: ExecuteCodeLimitFault(); break;
            case Op.Lar:
            case Op.Lsl:
            case Op.Verr:
            case Op.Verw:
                ExecuteDescriptorQuery(ref d);
                break;
            case Op.Ltr: ExecuteLtr(ref d); break;
            case Op.Sldt: ExecuteStoreSystemSelector(ref d, _ctx.LdtSelector); break;
            case Op.Str: ExecuteStoreSystemSelector(ref d, _ctx.TrSelector); break;
            default:
                RaiseFault(VectorInvalidOpcode);
                break;
        }
    }
}
