using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>Memory access: segment checks, the linear-address translation point and the software TLB.</summary>
public sealed unsafe partial class Cpu
{
    private const int TlbEntries = Mmu.TlbEntries;
    private const int PageShift = Mmu.PageShift;
    private const uint PageMask = Mmu.PageMask;

    // The MMU's data TLB (see Paging/Mmu.cs), referenced here so that the inlined fast path reads a tag and a host pointer
    // without going through the MMU object. Tags hold linear page number + 1 so that zero means "empty".
    private readonly ulong[] _tlbReadTag;
    private readonly nint[] _tlbReadHost;
    private readonly ulong[] _tlbWriteTag;
    private readonly nint[] _tlbWriteHost;

    /// <summary>The effective address of the instruction's memory operand, masked to its address size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong EffectiveAddress(ref DecodedInstruction d)
    {
        if (d.AddrSize == 8 || d.Base == DecodedInstruction.RipRegister)
        {
            return EffectiveAddress64(ref d);
        }

        uint ea = EffectiveAddress32(ref d);
        return d.AddrSize == 2 ? ea & 0xFFFF : ea;
    }

    /// <summary>
    /// The effective address in 64-bit mode: base (a register or RIP) + index * scale + displacement, wrapping at 64 bits,
    /// or at 32 with the 67h prefix (Intel SDM Vol. 1, 3.3.7: the upper 32 bits of a 32-bit address are zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong EffectiveAddress64(ref DecodedInstruction d)
    {
        ulong ea = d.Disp;
        if (d.Base == DecodedInstruction.RipRegister)
        {
            ea += _ctx.Rip;
        }
        else if (d.Base != DecodedInstruction.NoRegister)
        {
            ea += Gpr(d.Base);
        }

        if (d.Index != DecodedInstruction.NoRegister)
        {
            ea += Gpr(d.Index) << d.Scale;
        }

        return d.AddrSize == 8 ? ea : (uint)ea;
    }

    /// <summary>
    /// Whether a linear address is canonical for 48-bit linear addresses: bits 63:47 all equal (Intel SDM Vol. 1, 3.3.7.1).
    /// A 32-bit linear address always is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsCanonical(ulong linear) => (ulong)((long)(linear << CanonicalShift) >> CanonicalShift) == linear;

    /// <summary>64 minus the implemented linear-address width (48, as CPUID 80000008h reports).</summary>
    private const int CanonicalShift = 64 - LinearAddressBits;

    /// <summary>
    /// The linear address of a data access in 64-bit mode: CS, DS, ES and SS have base 0 and no limit, FS and GS add their
    /// base (Intel SDM Vol. 3A, 3.4.4). False, with #SS(0) for stack references and #GP(0) for the others pending, when the
    /// address is not canonical (Vol. 3A, 6.15, interrupts 12 and 13).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryLinear64(int segment, ulong offset, out ulong linear)
    {
        linear = segment >= Fs ? _ctx.SegBase[segment] + offset : offset;
        if (IsCanonical(linear))
        {
            return true;
        }

        RaiseFault(segment == Ss ? VectorStackFault : VectorGeneralProtection, 0);
        return false;
    }

    /// <summary>
    /// The one segment check for reads: an access of <paramref name="size"/> bytes at <paramref name="offset"/> must end within
    /// the segment's precomputed read bound; anything else (beyond the limit, expand-down, unusable or execute-only segments)
    /// takes <see cref="CheckAccessSlow"/>, which raises #SS for SS and #GP for the others (Intel SDM Vol. 3A, 20.1.3 and 5.3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CheckLimit(int segment, ulong offset, int size)
    {
        if (offset + (uint)size > _ctx.SegReadEnd[segment])
        {
            return CheckAccessSlow(segment, (uint)offset, size, write: false);
        }

        return true;
    }

    /// <summary>The segment check for writes (read-only data and code segments fail it in protected mode).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CheckWriteLimit(int segment, ulong offset, int size)
    {
        if (offset + (uint)size > _ctx.SegWriteEnd[segment])
        {
            return CheckAccessSlow(segment, (uint)offset, size, write: true);
        }

        return true;
    }

    /// <summary>
    /// A data read at segment:offset with the segment's checks; outside 64-bit mode the offset is at most 32 bits wide and the
    /// linear address wraps at 4 GiB.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadMem(int segment, ulong offset, int size)
    {
        if (_ctx.Code64)
        {
            return ReadMem64(segment, offset, size);
        }

        if (!CheckLimit(segment, offset, size))
        {
            return 0;
        }

        return ReadLinear((uint)(_ctx.SegBase[segment] + (uint)offset), size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong ReadMem64(int segment, ulong offset, int size) => TryLinear64(segment, offset, out ulong linear) ? ReadLinear(linear, size) : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteMem(int segment, ulong offset, int size, ulong value)
    {
        if (_ctx.Code64)
        {
            WriteMem64(segment, offset, size, value);
            return;
        }

        if (CheckWriteLimit(segment, offset, size))
        {
            WriteLinear((uint)(_ctx.SegBase[segment] + (uint)offset), size, value);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteMem64(int segment, ulong offset, int size, ulong value)
    {
        if (TryLinear64(segment, offset, out ulong linear))
        {
            WriteLinear(linear, size, value);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadLinear(ulong linear, int size)
    {
        ulong page = linear >> PageShift;
        int i = (int)page & (TlbEntries - 1);
        uint offset = (uint)linear & PageMask;
        if (_tlbReadTag[i] == page + 1 && offset + (uint)size <= PhysicalMemoryMap.PageSizeInBytes)
        {
            return LoadFromHost((byte*)_tlbReadHost[i] + offset, size);
        }

        return ReadLinearSlow(linear, size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong ReadLinearSlow(ulong linear, int size)
    {
        ulong result = ReadLinearSlowUnwatched(linear, size);
        if (_hostWatchesArmed && !_faulted)
        {
            // Watched pages are never in the TLB (see ReadLinearInPage), so every access to them comes through here.
            RecordHostWatchAccess(linear, size, write: false, result);
        }

        return result;
    }

    private ulong ReadLinearSlowUnwatched(ulong linear, int size)
    {
        uint offset = (uint)linear & PageMask;
        if (offset + (uint)size > PhysicalMemoryMap.PageSizeInBytes)
        {
            // Page-crossing access: byte by byte, each through its own translation.
            ulong value = 0;
            for (int b = 0; b < size; b++)
            {
                value |= ReadLinearInPage(NextLinear(linear, b), 1) << (8 * b);
            }

            return value;
        }

        return ReadLinearInPage(linear, size);
    }

    /// <summary>A read within one page that may miss the TLB: translates, fills the TLB when the page allows it, reads.</summary>
    private ulong ReadLinearInPage(ulong linear, int size)
    {
        ulong page = linear >> PageShift;
        int i = (int)page & (TlbEntries - 1);
        uint offset = (uint)linear & PageMask;
        if (_tlbReadTag[i] != page + 1)
        {
            if (!TranslateData(linear, write: false, out PhysicalAddress physical))
            {
                return 0;
            }

            bool watched = _dataBreakpointsArmed && CheckDataBreakpoints((uint)linear, size, write: false);
            watched |= _hostWatchesArmed && HostWatchOnPage(linear);
            if (watched || (_mmu.SupervisorAccess && _mmu.PagingEnabled) || !_memory.TryGetHostPage(physical, forWrite: false, out nint host))
            {
                return _memory.Read(physical, size);
            }

            _tlbReadTag[i] = page + 1;
            _tlbReadHost[i] = host;
        }

        return LoadFromHost((byte*)_tlbReadHost[i] + offset, size);
    }

    /// <summary>Loads 1, 2, 4 or 8 bytes, little-endian, from a host pointer the TLB handed out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LoadFromHost(byte* p, int size) => size switch
    {
        1 => *p,
        2 => Unsafe.ReadUnaligned<ushort>(p),
        4 => Unsafe.ReadUnaligned<uint>(p),
        _ => Unsafe.ReadUnaligned<ulong>(p),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteLinear(ulong linear, int size, ulong value)
    {
        ulong page = linear >> PageShift;
        int i = (int)page & (TlbEntries - 1);
        uint offset = (uint)linear & PageMask;
        if (_tlbWriteTag[i] == page + 1 && offset + (uint)size <= PhysicalMemoryMap.PageSizeInBytes)
        {
            StoreToHost((byte*)_tlbWriteHost[i] + offset, size, value);
            return;
        }

        WriteLinearSlow(linear, size, value);
    }

    /// <summary>Stores 1, 2, 4 or 8 bytes, little-endian, at a host pointer the TLB handed out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreToHost(byte* p, int size, ulong value)
    {
        switch (size)
        {
            case 1:
                *p = (byte)value;
                break;
            case 2:
                Unsafe.WriteUnaligned(p, (ushort)value);
                break;
            case 4:
                Unsafe.WriteUnaligned(p, (uint)value);
                break;
            default:
                Unsafe.WriteUnaligned(p, value);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteLinearSlow(ulong linear, int size, ulong value)
    {
        WriteLinearSlowUnwatched(linear, size, value);
        if (_hostWatchesArmed && !_faulted)
        {
            RecordHostWatchAccess(linear, size, write: true, value);
        }
    }

    private void WriteLinearSlowUnwatched(ulong linear, int size, ulong value)
    {
        uint offset = (uint)linear & PageMask;
        if (offset + (uint)size > PhysicalMemoryMap.PageSizeInBytes)
        {
            for (int b = 0; b < size; b++)
            {
                WriteLinearInPage(NextLinear(linear, b), 1, (byte)(value >> (8 * b)));
            }

            return;
        }

        WriteLinearInPage(linear, size, value);
    }

    /// <summary>A write within one page that may miss the TLB: translates, fills the TLB when the page allows it, writes.</summary>
    private void WriteLinearInPage(ulong linear, int size, ulong value)
    {
        ulong page = linear >> PageShift;
        int i = (int)page & (TlbEntries - 1);
        uint offset = (uint)linear & PageMask;
        if (_tlbWriteTag[i] != page + 1)
        {
            if (!TranslateData(linear, write: true, out PhysicalAddress physical))
            {
                return;
            }

            bool watched = _dataBreakpointsArmed && CheckDataBreakpoints((uint)linear, size, write: true);
            watched |= _hostWatchesArmed && HostWatchOnPage(linear);
            if (watched || (_mmu.SupervisorAccess && _mmu.PagingEnabled) || !_memory.TryGetHostPage(physical, forWrite: true, out nint host))
            {
                // MMIO, ROM, unmapped or a page holding decoded code: the map dispatches and reports code writes to us.
                _memory.Write(physical, size, value);
                return;
            }

            _tlbWriteTag[i] = page + 1;
            _tlbWriteHost[i] = host;
        }

        StoreToHost((byte*)_tlbWriteHost[i] + offset, size, value);
    }

    private uint StackPointer => _ctx.Stack32 ? (uint)_ctx.Gpr[RegSp] : (ushort)_ctx.Gpr[RegSp];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetStackPointer(uint value)
    {
        if (_ctx.Stack32)
        {
            _ctx.Gpr[RegSp] = value;
        }
        else
        {
            _ctx.Gpr[RegSp] = (_ctx.Gpr[RegSp] & ~0xFFFFUL) | (ushort)value;
        }
    }

    private uint StackMask => _ctx.Stack32 ? 0xFFFFFFFF : 0xFFFF;

    /// <summary>Pushes a value; on a stack fault nothing changes and the fault is pending.</summary>
    private void Push(ulong value, int size)
    {
        if (_ctx.Code64)
        {
            Push64(value, size);
            return;
        }

        uint sp = (StackPointer - (uint)size) & StackMask;
        WriteMem(Ss, sp, size, value);
        if (!_faulted)
        {
            SetStackPointer(sp);
        }
    }

    /// <summary>
    /// PUSH in 64-bit mode: the stack pointer is RSP whatever SS.B says (Intel SDM Vol. 1, 6.2.5), and a non-canonical
    /// address is #SS(0). Through the inline TLB probe of Cpu.FastMemory64.cs: PUSH, CALL and interrupt frames are as
    /// frequent in 64-bit code as loads and stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Push64(ulong value, int size)
    {
        ulong rsp = _ctx.Gpr[RegSp] - (uint)size;
        WriteFast64(Ss, rsp, size, value);
        if (!_faulted)
        {
            _ctx.Gpr[RegSp] = rsp;
        }
    }

    /// <summary>POP in 64-bit mode (see <see cref="Push64"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong Pop64(int size)
    {
        ulong rsp = _ctx.Gpr[RegSp];
        if (TryReadFast64(Ss, rsp, size, out ulong value))
        {
            _ctx.Gpr[RegSp] = rsp + (uint)size;
        }

        return value;
    }

    /// <summary>Pops a value; on a stack fault nothing changes and the fault is pending.</summary>
    private ulong Pop(int size)
    {
        if (_ctx.Code64)
        {
            return Pop64(size);
        }

        uint sp = StackPointer;
        ulong value = ReadMem(Ss, sp, size);
        if (!_faulted)
        {
            SetStackPointer((sp + (uint)size) & StackMask);
        }

        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadRegister(int register, int size) => size switch
    {
        // 4-7 are AH-BH; 0-3, 8-15 and the REX numbers of SPL-DIL (20-23, masked to 4-7 by Gpr) are low bytes.
        1 => (uint)(register - 4) < 4 ? (byte)(Gpr(register - 4) >> 8) : (byte)Gpr(register),
        2 => (ushort)Gpr(register),
        4 => (uint)Gpr(register),
        _ => Gpr(register),
    };

    /// <summary>A general register without a bounds check: register numbers come from the decoder (0-15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref ulong Gpr(int register) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ctx.Gpr), (nint)(uint)register & 15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteRegister(int register, int size, ulong value)
    {
        switch (size)
        {
            case 1:
                if ((uint)(register - 4) >= 4)
                {
                    ref ulong r = ref Gpr(register);
                    r = (r & ~0xFFUL) | (byte)value;
                }
                else
                {
                    ref ulong r = ref Gpr(register - 4);
                    r = (r & ~0xFF00UL) | ((ulong)(byte)value << 8);
                }

                break;
            case 2:
                {
                    ref ulong r = ref Gpr(register);
                    r = (r & ~0xFFFFUL) | (ushort)value;
                    break;
                }

            case 4:
                // Intel SDM Vol. 1, 3.4.1.1: a 32-bit result is zero-extended to 64 bits in 64-bit mode (outside it the upper
                // half is undefined; we zero-extend there too).
                Gpr(register) = (uint)value;
                break;
            default:
                Gpr(register) = value;
                break;
        }
    }

    /// <summary>Reads operand 0 (register or memory). For memory, <paramref name="ea"/> receives the effective address for the write-back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadDestination(ref DecodedInstruction d, int size, out ulong ea)
    {
        if (d.Kind0 == OperandKind.Register)
        {
            ea = 0;
            return ReadRegister(d.Reg0, size);
        }

        ea = EffectiveAddress(ref d);
        return ReadMem(d.Seg, ea, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteDestination(ref DecodedInstruction d, int size, ulong ea, ulong value)
    {
        if (d.Kind0 == OperandKind.Register)
        {
            WriteRegister(d.Reg0, size, value);
        }
        else
        {
            WriteMem(d.Seg, ea, size, value);
        }
    }

    /// <summary>Writes operand 0 without a prior read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteOperand0(ref DecodedInstruction d, int size, ulong value)
    {
        if (d.Kind0 == OperandKind.Register)
        {
            WriteRegister(d.Reg0, size, value);
        }
        else
        {
            WriteMem(d.Seg, EffectiveAddress(ref d), size, value);
        }
    }

    /// <summary>Reads operand 1 (register, immediate, memory or segment register).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadOperand1(ref DecodedInstruction d, int size) => d.Kind1 switch
    {
        OperandKind.Register => ReadRegister(d.Reg1, size),
        OperandKind.Immediate => d.Imm,
        OperandKind.Memory => ReadMem(d.Seg, EffectiveAddress(ref d), size),
        OperandKind.Segment => _ctx.SegSelector[d.Reg1],
        _ => 0,
    };

    /// <summary>Reads operand 0 (register, immediate, memory or segment register).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadOperand0(ref DecodedInstruction d, int size) => d.Kind0 switch
    {
        OperandKind.Register => ReadRegister(d.Reg0, size),
        OperandKind.Immediate => d.Imm,
        OperandKind.Memory => ReadMem(d.Seg, EffectiveAddress(ref d), size),
        OperandKind.Segment => _ctx.SegSelector[d.Reg0],
        _ => 0,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SizeMask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SignBit(int size) => 1UL << ((size * 8) - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long SignExtend(ulong value, int size) => size switch
    {
        1 => (sbyte)value,
        2 => (short)value,
        4 => (int)value,
        _ => (long)value,
    };
}
