using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The MMX and SSE families' entry: the availability checks every SIMD instruction makes (CR0.EM, CR4.OSFXSR, CR0.TS, a
/// pending x87 exception for MMX registers), the dispatch on Iced's <see cref="Iced.Intel.Code"/> into the family files
/// (Cpu.Simd.Float*.cs for floating point and SSE state, Cpu.Simd.Integer*.cs for integer and MMX), and the operand helpers
/// they share: XMM register lanes and 16-, 8- and 4-byte memory operands through the segmented access path.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>The alignment of the aligned 16-byte forms (MOVAPS, MOVDQA, and every legacy SSE arithmetic m128 operand).</summary>
    private const int SimdAlignment = 16;

    /// <summary>The architectural reset state of XMM0-XMM15, MXCSR and XCR0 (Intel SDM Vol. 3A, Table 10-1).</summary>
    private void SimdReset()
    {
        Array.Clear(_ctx.Xmm);
        _ctx.Mxcsr = MxcsrBits.ResetValue;
        _ctx.Xcr0 = 1;
    }

    private void ExecuteSimd(ref DecodedInstruction d)
    {
        SimdChecks checks = (SimdChecks)d.Cond;
        if (checks != SimdChecks.None && !SimdCheckAvailable(checks))
        {
            return;
        }

        // Each family is a switch on the Code that returns false for codes it does not own; a code nobody owns is #UD
        // (an instruction of these sets that Virt does not implement behaves as on a CPU without it).
        if (TryExecuteSimdFloat(ref d) || TryExecuteSimdInteger(ref d))
        {
            return;
        }

        RaiseFault(VectorInvalidOpcode);
    }

    /// <summary>
    /// The checks before any operand is touched, in the SDM's order: #UD for CR0.EM, #UD for CR4.OSFXSR = 0 (SSE state only),
    /// #NM for CR0.TS, then #MF for a pending x87 exception when an MMX register is used (Intel SDM Vol. 3A, 2.5 and 13.1;
    /// Vol. 2, the exceptions of each SSE instruction: "CR0.EM[bit 2] = 1", "CR4.OSFXSR[bit 9] = 0", "CR0.TS[bit 3] = 1").
    /// </summary>
    /// <returns>False when a fault was raised.</returns>
    private bool SimdCheckAvailable(SimdChecks checks)
    {
        if ((_ctx.Cr0 & Cr0Bits.Em) != 0 || ((checks & SimdChecks.Sse) != 0 && (_ctx.Cr4 & Cr4Bits.Osfxsr) == 0))
        {
            RaiseFault(VectorInvalidOpcode);
            return false;
        }

        if ((_ctx.Cr0 & Cr0Bits.Ts) != 0)
        {
            RaiseFault(VectorDeviceNotAvailable);
            return false;
        }

        return (checks & SimdChecks.Mmx) == 0 || X87CheckPendingError();
    }

    /// <summary>XMM register <paramref name="register"/> (0-15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref UInt128 Xmm(int register) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ctx.Xmm), (nint)(uint)register & 15);

    /// <summary>The 32-bit lane <paramref name="lane"/> (0-3) of an XMM value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref uint Lane32(ref UInt128 value, int lane) => ref Unsafe.Add(ref Unsafe.As<UInt128, uint>(ref value), lane & 3);

    /// <summary>The 64-bit lane <paramref name="lane"/> (0-1) of an XMM value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref ulong Lane64(ref UInt128 value, int lane) => ref Unsafe.Add(ref Unsafe.As<UInt128, ulong>(ref value), lane & 1);

    /// <summary>
    /// Operand 1 as a 128-bit value: an XMM register, or 16 bytes of memory (with the alignment check when
    /// <paramref name="aligned"/>).
    /// </summary>
    /// <returns>False when the memory access faulted.</returns>
    private bool SimdSource128(ref DecodedInstruction d, bool aligned, out UInt128 value)
    {
        if (d.Kind1 != OperandKind.Memory)
        {
            value = Xmm(d.Reg1);
            return true;
        }

        return SimdRead128(ref d, aligned, out value);
    }

    /// <summary>
    /// Reads the 16-byte memory operand. With <paramref name="aligned"/>, an address not on a 16-byte boundary is #GP(0)
    /// (Intel SDM Vol. 1, 10.4.1.1 and Vol. 2, MOVAPS: "If a memory operand is not aligned on a 16-byte boundary").
    /// </summary>
    /// <returns>False when the access faulted (nothing may change).</returns>
    private bool SimdRead128(ref DecodedInstruction d, bool aligned, out UInt128 value)
    {
        value = default;
        int seg = d.Seg;
        ulong ea = EffectiveAddress(ref d);
        if (aligned && !SimdCheckAlignment(seg, ea))
        {
            return false;
        }

        if (!CheckLimit(seg, ea, 16))
        {
            return false;
        }

        ulong low = ReadMem(seg, ea, 8);
        ulong high = ReadMem(seg, ea + 8, 8);
        if (_faulted)
        {
            return false;
        }

        value = new UInt128(high, low);
        return true;
    }

    /// <summary>
    /// Writes the 16-byte memory operand, all or nothing: both pages are checked before the first byte is stored, so a fault
    /// on the second page leaves memory unchanged.
    /// </summary>
    /// <returns>False when the access faulted.</returns>
    private bool SimdWrite128(ref DecodedInstruction d, bool aligned, UInt128 value)
    {
        int seg = d.Seg;
        ulong ea = EffectiveAddress(ref d);
        if (aligned && !SimdCheckAlignment(seg, ea))
        {
            return false;
        }

        if (!SimdProbeWrite(seg, ea, 16))
        {
            return false;
        }

        WriteMem(seg, ea, 8, (ulong)value);
        WriteMem(seg, ea + 8, 8, (ulong)(value >> 64));
        return !_faulted;
    }

    /// <summary>Reads a 1-, 2-, 4- or 8-byte memory operand (MOVSS, MOVSD, MOVLPS, CVTSI2SS m32 ...).</summary>
    /// <returns>False when the access faulted.</returns>
    private bool SimdReadMemory(ref DecodedInstruction d, int size, out ulong value)
    {
        value = ReadMem(d.Seg, EffectiveAddress(ref d), size);
        return !_faulted;
    }

    /// <summary>Writes a 1-, 2-, 4- or 8-byte memory operand.</summary>
    /// <returns>False when the access faulted.</returns>
    private bool SimdWriteMemory(ref DecodedInstruction d, int size, ulong value)
    {
        WriteMem(d.Seg, EffectiveAddress(ref d), size, value);
        return !_faulted;
    }

    /// <summary>#GP(0) unless the linear address of <paramref name="segment"/>:<paramref name="offset"/> is 16-byte aligned.</summary>
    private bool SimdCheckAlignment(int segment, ulong offset)
    {
        if (((_ctx.SegBase[segment] + offset) & (SimdAlignment - 1)) != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Checks that a write of <paramref name="size"/> bytes would pass the segment and page checks, without writing; false
    /// with the pending #GP, #SS or #PF.
    /// </summary>
    private bool SimdProbeWrite(int segment, ulong offset, int size)
    {
        ulong first;
        if (_ctx.Code64)
        {
            // 64-bit mode: no limits, but the canonical check (#GP, or #SS for SS).
            if (!TryLinear64(segment, offset, out first))
            {
                return false;
            }
        }
        else
        {
            if (!CheckWriteLimit(segment, offset, size))
            {
                return false;
            }

            first = (uint)(_ctx.SegBase[segment] + (uint)offset);
        }

        ulong last = NextLinear(first, size - 1);
        return TranslateData(first, write: true, out _) && ((last >> PageShift) == (first >> PageShift) || TranslateData(last, write: true, out _));
    }
}
