using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Specialised forms of the commonest 32-bit instructions with a memory operand (MOV loads and stores, MOVZX/MOVSX loads,
/// ALU register-from-memory, CMP memory) and the fast path they share: the effective address with a 32-bit address size,
/// the segment's precomputed bound and base, and a software TLB hit, without bounds checks or the generic operand-kind
/// switches. Anything else (beyond the bound, a TLB miss, a page-crossing access) takes the generic
/// <see cref="ReadMem"/>/<see cref="WriteMem"/> path, which raises faults and fills the TLB, so segment limits, paging,
/// MMIO, code-page write tracking and data breakpoints (whose pages never enter the TLB) behave exactly as before.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Picks the specialised form for a translated instruction, when one applies (after the register forms).</summary>
    private static void SelectMemoryFastForm(ref DecodedInstruction d, in Instruction ins)
    {
        if (ins.HasLockPrefix || d.AddrSize != 4 || d.OpSize != 4)
        {
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
                _ => d.Op,
            };
        }
    }

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
        if ((ulong)offset + (uint)size <= Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_segReadEnd), segment))
        {
            uint linear = (uint)(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_segBase), segment) + offset);
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

    /// <summary>A 32-bit write at segment:offset: inline within the write bound on a write-TLB hit, else <see cref="WriteMem"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteFast32(int segment, uint offset, uint value)
    {
        if ((ulong)offset + 4 <= Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_segWriteEnd), segment))
        {
            uint linear = (uint)(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_segBase), segment) + offset);
            uint page = linear >> PageShift;
            nint slot = (nint)(page & (TlbEntries - 1));
            uint inPage = linear & PageMask;
            if (Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbWriteTag), slot) == (ulong)page + 1 && inPage <= PhysicalPageSize - 4)
            {
                Unsafe.WriteUnaligned((byte*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbWriteHost), slot) + inPage, value);
                return;
            }
        }

        WriteMemSlow(segment, offset, value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteMemSlow(int segment, uint offset, uint value) => WriteMem(segment, offset, 4, value);

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

    /// <summary>MOV m32, r32/imm32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteStore32(ref DecodedInstruction d)
    {
        uint value = d.Kind1 == OperandKind.Immediate ? d.Imm : (uint)Gpr(d.Reg1);
        WriteFast32(d.Seg, EffectiveAddress32(ref d), value);
    }

    /// <summary>ADD/SUB/CMP/AND/OR/XOR r32, m32.</summary>
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
}
