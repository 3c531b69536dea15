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
    private uint EffectiveAddress(ref DecodedInstruction d)
    {
        uint ea = EffectiveAddress32(ref d);
        return d.AddrSize == 2 ? ea & 0xFFFF : ea;
    }

    /// <summary>
    /// The one segment check for reads: an access of <paramref name="size"/> bytes at <paramref name="offset"/> must end within
    /// the segment's precomputed read bound; anything else (beyond the limit, expand-down, unusable or execute-only segments)
    /// takes <see cref="CheckAccessSlow"/>, which raises #SS for SS and #GP for the others (Intel SDM Vol. 3A, 20.1.3 and 5.3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CheckLimit(int segment, uint offset, int size)
    {
        if ((ulong)offset + (uint)size > _ctx.SegReadEnd[segment])
        {
            return CheckAccessSlow(segment, offset, size, write: false);
        }

        return true;
    }

    /// <summary>The segment check for writes (read-only data and code segments fail it in protected mode).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CheckWriteLimit(int segment, uint offset, int size)
    {
        if ((ulong)offset + (uint)size > _ctx.SegWriteEnd[segment])
        {
            return CheckAccessSlow(segment, offset, size, write: true);
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadMem(int segment, uint offset, int size)
    {
        if (!CheckLimit(segment, offset, size))
        {
            return 0;
        }

        return ReadLinear((uint)(_ctx.SegBase[segment] + offset), size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteMem(int segment, uint offset, int size, ulong value)
    {
        if (CheckWriteLimit(segment, offset, size))
        {
            WriteLinear((uint)(_ctx.SegBase[segment] + offset), size, value);
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
        uint sp = (StackPointer - (uint)size) & StackMask;
        WriteMem(Ss, sp, size, value);
        if (!_faulted)
        {
            SetStackPointer(sp);
        }
    }

    /// <summary>Pops a value; on a stack fault nothing changes and the fault is pending.</summary>
    private ulong Pop(int size)
    {
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
        1 => register < 4 ? (byte)Gpr(register) : (byte)(Gpr(register - 4) >> 8),
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
                if (register < 4)
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
                // Outside 64-bit mode the upper half is undefined after a 32-bit write; zero-extend as long mode does.
                Gpr(register) = (uint)value;
                break;
            default:
                Gpr(register) = value;
                break;
        }
    }

    /// <summary>Reads operand 0 (register or memory). For memory, <paramref name="ea"/> receives the effective address for the write-back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadDestination(ref DecodedInstruction d, int size, out uint ea)
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
    private void WriteDestination(ref DecodedInstruction d, int size, uint ea, ulong value)
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
