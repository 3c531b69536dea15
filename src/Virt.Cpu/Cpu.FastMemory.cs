using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Specialised forms of the commonest instructions with a 32-bit-addressed memory operand (MOV loads and stores of bytes,
/// words and dwords, MOVZX/MOVSX loads,
/// ALU register-from-memory, CMP memory, ADD/SUB/INC/DEC memory) and the fast path they share: the effective address with a 32-bit address size,
/// the segment's precomputed bound and base, and a software TLB hit, without bounds checks or the generic operand-kind
/// switches. Anything else (beyond the bound, a TLB miss, a page-crossing access) takes the generic
/// <see cref="ReadMem"/>/<see cref="WriteMem"/> path, which raises faults and fills the TLB, so segment limits, paging,
/// MMIO, code-page write tracking and data breakpoints (whose pages never enter the TLB) behave exactly as before.
/// </summary>
public sealed unsafe partial class Cpu
{

    /// <summary>The effective address of a 32-bit-address-size memory operand (the translation picks fast forms only for those).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint EffectiveAddress32(ref DecodedInstruction d)
    {
        uint ea = d.Disp;
        if (d.Base != DecodedInstruction.NoRegister)
        {
            ea += (uint)Gpr(d.Base);
        }

        if (d.Index != DecodedInstruction.NoRegister)
        {
            ea += (uint)Gpr(d.Index) << d.Scale;
        }

        return ea;
    }

    /// <summary>
    /// A read of <paramref name="size"/> (1, 2 or 4) bytes at segment:offset: inline when it lies within the segment's read
    /// bound and the page is in the read TLB; otherwise <see cref="ReadMem"/>. False when that raised a fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryReadFast(int segment, uint offset, int size, out uint value)
    {
        // Segment numbers come from the decoder (0-5), so the arrays need no bounds checks.
        if ((ulong)offset + (uint)size <= Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ctx.SegReadEnd), segment))
        {
            uint linear = (uint)(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ctx.SegBase), segment) + offset);
            uint page = linear >> PageShift;
            nint slot = (nint)(page & (TlbEntries - 1));
            uint inPage = linear & PageMask;
            if (Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbReadTag), slot) == (ulong)page + 1
                && inPage <= PhysicalPageSize - (uint)size)
            {
                byte* p = (byte*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbReadHost), slot) + inPage;
                value = size switch
                {
                    1 => *p,
                    2 => Unsafe.ReadUnaligned<ushort>(p),
                    _ => Unsafe.ReadUnaligned<uint>(p),
                };
                return true;
            }
        }

        return ReadMemSlow(segment, offset, size, out value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReadMemSlow(int segment, uint offset, int size, out uint value)
    {
        value = (uint)ReadMem(segment, offset, size);
        return !_faulted;
    }

    /// <summary>A write of <paramref name="size"/> (1, 2 or 4) bytes at segment:offset: inline within the write bound on a write-TLB hit, else <see cref="WriteMem"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteFast(int segment, uint offset, int size, uint value)
    {
        if ((ulong)offset + (uint)size <= Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ctx.SegWriteEnd), segment))
        {
            uint linear = (uint)(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ctx.SegBase), segment) + offset);
            uint page = linear >> PageShift;
            nint slot = (nint)(page & (TlbEntries - 1));
            uint inPage = linear & PageMask;
            if (Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbWriteTag), slot) == (ulong)page + 1 && inPage <= PhysicalPageSize - (uint)size)
            {
                StoreToHost((byte*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbWriteHost), slot) + inPage, size, value);
                return;
            }
        }

        WriteMemSlow(segment, offset, size, value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteMemSlow(int segment, uint offset, int size, uint value) => WriteMem(segment, offset, size, value);

    private const uint PhysicalPageSize = 1u << PageShift;

    /// <summary>MOV r32, m32 and MOVZX/MOVSX r32, m8/m16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteLoad(ref DecodedInstruction d, int size, bool signExtend)
    {
        if (TryReadFast(d.Seg, EffectiveAddress32(ref d), size, out uint value))
        {
            if (signExtend)
            {
                value = size == 1 ? (uint)(sbyte)value : (uint)(short)value;
            }

            // A 32-bit destination zero-extends, as WriteRegister does.
            Gpr(d.Reg0) = value;
        }
    }

    /// <summary>MOV m8/m16/m32, r/imm.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteStore(ref DecodedInstruction d, int size)
    {
        uint value = d.Kind1 == OperandKind.Immediate ? d.Imm : (uint)ReadRegister(d.Reg1, size);
        WriteFast(d.Seg, EffectiveAddress32(ref d), size, value);
    }

    /// <summary>MOV r8, m8 (AH-BH are the high bytes of registers 0-3). Out of line, see <see cref="ExecuteAluLoad32"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteLoad8(ref DecodedInstruction d)
    {
        if (TryReadFast(d.Seg, EffectiveAddress32(ref d), 1, out uint value))
        {
            WriteRegister(d.Reg0, 1, value);
        }
    }

    /// <summary>
    /// ADD/SUB/CMP/AND/OR/XOR r32, m32, inlined into the run loop. Each inlined form spends the JIT's inlining budget for
    /// the run loop; past it the JIT stops inlining the small helpers (JumpNear, WriteRegister) that every instruction
    /// needs, so the less frequent fast forms (byte/word moves, MOVSX, read-modify-write) stay out of line.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteAluLoad32(ref DecodedInstruction d, Op op)
    {
        if (!TryReadFast(d.Seg, EffectiveAddress32(ref d), 4, out uint src))
        {
            return;
        }

        ref ulong r = ref Gpr(d.Reg0);
        ulong dst = (uint)r;
        ulong res;
        switch (op)
        {
            case Op.AddLoad32:
                res = dst + src;
                SetLazy(LazyOp.Add, dst, src, res, 4);
                r = (uint)res;
                break;
            case Op.SubLoad32:
                res = dst - src;
                SetLazy(LazyOp.Sub, dst, src, res, 4);
                r = (uint)res;
                break;
            case Op.CmpLoad32:
                SetLazy(LazyOp.Sub, dst, src, dst - src, 4);
                break;
            case Op.AndLoad32:
                res = dst & src;
                SetLogicFlags(res, 4);
                r = res;
                break;
            case Op.OrLoad32:
                res = dst | src;
                SetLogicFlags(res, 4);
                r = res;
                break;
            default:
                res = dst ^ src;
                SetLogicFlags(res, 4);
                r = res;
                break;
        }
    }

    /// <summary>CMP m32, r32/imm32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteCmpMem32(ref DecodedInstruction d)
    {
        if (TryReadFast(d.Seg, EffectiveAddress32(ref d), 4, out uint dst))
        {
            ulong src = d.Kind1 == OperandKind.Immediate ? d.Imm : (uint)Gpr(d.Reg1);
            SetLazy(LazyOp.Sub, dst, src, (ulong)dst - src, 4);
        }
    }

    /// <summary>ADD/SUB m32, r32/imm and INC/DEC m32 (read-modify-write; LOCK forms keep the generic handlers). Out of line, see <see cref="ExecuteAluLoad32"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteRmw32(ref DecodedInstruction d, Op op)
    {
        uint ea = EffectiveAddress32(ref d);
        if (!TryReadFast(d.Seg, ea, 4, out uint value))
        {
            return;
        }

        ulong dst = value;
        ulong res;
        switch (op)
        {
            case Op.AddMem32:
                {
                    ulong src = d.Kind1 == OperandKind.Immediate ? d.Imm : (uint)Gpr(d.Reg1);
                    res = dst + src;
                    SetLazy(LazyOp.Add, dst, src, res, 4);
                    break;
                }

            case Op.SubMem32:
                {
                    ulong src = d.Kind1 == OperandKind.Immediate ? d.Imm : (uint)Gpr(d.Reg1);
                    res = dst - src;
                    SetLazy(LazyOp.Sub, dst, src, res, 4);
                    break;
                }

            case Op.IncMem32:
                res = dst + 1;
                SetIncDec(LazyOp.Inc, dst, res, 4);
                break;
            default:
                res = dst - 1;
                SetIncDec(LazyOp.Dec, dst, res, 4);
                break;
        }

        WriteFast(d.Seg, ea, 4, (uint)res);
    }

    /// <summary>MOVSX r32, m8/m16 (out of line, see <see cref="ExecuteAluLoad32"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteLoadSignExtend(ref DecodedInstruction d)
    {
        if (d.Op == Op.LoadSx8)
        {
            ExecuteLoad(ref d, 1, signExtend: true);
        }
        else
        {
            ExecuteLoad(ref d, 2, signExtend: true);
        }
    }

    /// <summary>MOV m8/m16, r/imm (out of line, see <see cref="ExecuteAluLoad32"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteStoreNarrow(ref DecodedInstruction d)
    {
        if (d.Op == Op.Store8)
        {
            ExecuteStore(ref d, 1);
        }
        else
        {
            ExecuteStore(ref d, 2);
        }
    }
}
