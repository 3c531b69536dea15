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

    /// <summary>
    /// The effective address before the address-size mask: base + index * scale + displacement, wrapping at 32 bits. The
    /// whole address of a 32-bit-address-size operand (fast forms exist only for those); <see cref="EffectiveAddress"/> masks
    /// it for 16-bit addressing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint EffectiveAddress32(ref DecodedInstruction d)
    {
        uint ea = (uint)d.Disp;
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
        uint value = d.Kind1 == OperandKind.Immediate ? (uint)d.Imm : (uint)ReadRegister(d.Reg1, size);
        WriteFast(d.Seg, EffectiveAddress32(ref d), size, value);
    }

    /// <summary>MOV r8, m8 (AH-BH are the high bytes of registers 0-3). Out of line, see <see cref="ExecuteRmw32"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteLoad8(ref DecodedInstruction d)
    {
        if (TryReadFast(d.Seg, EffectiveAddress32(ref d), 1, out uint value))
        {
            WriteRegister(d.Reg0, 1, value);
        }
    }

    /// <summary>MOVSX r32, m8/m16 (out of line, see <see cref="ExecuteRmw32"/>).</summary>
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

    /// <summary>MOV m8/m16, r/imm (out of line, see <see cref="ExecuteRmw32"/>).</summary>
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

    /// <summary>
    /// ADD/SUB m32, r32/imm and INC/DEC m32 (read-modify-write; LOCK forms keep the generic handlers). Out of line: each
    /// inlined form spends the JIT's inlining budget for the run loop; past it the JIT stops inlining the small helpers
    /// (JumpNear, WriteRegister) that every instruction needs.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteRmw32(ref DecodedInstruction d, Op op)
    {
        switch (op)
        {
            case Op.AddMem32: ExecuteAlu<FlatMemoryDestination, RegisterOrImmediateSource, AddOperation>(ref d, 4); break;
            case Op.SubMem32: ExecuteAlu<FlatMemoryDestination, RegisterOrImmediateSource, SubOperation>(ref d, 4); break;
            case Op.IncMem32: ExecuteIncDec<FlatMemoryDestination>(ref d, increment: true, 4); break;
            default: ExecuteIncDec<FlatMemoryDestination>(ref d, increment: false, 4); break;
        }
    }
}
