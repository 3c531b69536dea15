using Iced.Intel;
using Virt.Cpu.Decoding;
using Virt.Cpu.Simd;

namespace Virt.Cpu;

/// <summary>
/// The SSE, SSE2, SSE3 and SSE4.1 floating-point family and the SSE state instructions: the switch on the Code that
/// <see cref="ExecuteSimd"/> tries first. The lane arithmetic is <see cref="SseFloat{T}"/>'s; this file and its siblings
/// (Cpu.Simd.Float.*.cs, Cpu.Simd.State.cs) fetch the operands, apply the lanes, and commit the result only when no unmasked
/// exception was found (<see cref="SimdCommitFlags"/>).
/// </summary>
public sealed partial class Cpu
{
    /// <summary>#XM, the SIMD floating-point exception (Intel SDM Vol. 3A, 6.15, Interrupt 19).</summary>
    private const int VectorSimdFloatingPoint = 19;

    /// <summary>The pre-computation exceptions (Intel SDM Vol. 1, 11.5.2): invalid, denormal, divide-by-zero.</summary>
    private const uint SimdPreComputationFlags = MxcsrBits.Ie | MxcsrBits.De | MxcsrBits.Ze;

    /// <summary>Executes a floating-point or SSE-state instruction.</summary>
    /// <returns>False when the code is not one of this family's.</returns>
    private bool TryExecuteSimdFloat(ref DecodedInstruction d)
    {
        switch (d.Code)
        {
            case Code.Addps_xmm_xmmm128: SimdArithmetic<SseBinary32>(ref d, SseOperation.Add, scalar: false); return true;
            case Code.Addss_xmm_xmmm32: SimdArithmetic<SseBinary32>(ref d, SseOperation.Add, scalar: true); return true;
            case Code.Addpd_xmm_xmmm128: SimdArithmetic<SseBinary64>(ref d, SseOperation.Add, scalar: false); return true;
            case Code.Addsd_xmm_xmmm64: SimdArithmetic<SseBinary64>(ref d, SseOperation.Add, scalar: true); return true;
            case Code.Subps_xmm_xmmm128: SimdArithmetic<SseBinary32>(ref d, SseOperation.Sub, scalar: false); return true;
            case Code.Subss_xmm_xmmm32: SimdArithmetic<SseBinary32>(ref d, SseOperation.Sub, scalar: true); return true;
            case Code.Subpd_xmm_xmmm128: SimdArithmetic<SseBinary64>(ref d, SseOperation.Sub, scalar: false); return true;
            case Code.Subsd_xmm_xmmm64: SimdArithmetic<SseBinary64>(ref d, SseOperation.Sub, scalar: true); return true;
            case Code.Mulps_xmm_xmmm128: SimdArithmetic<SseBinary32>(ref d, SseOperation.Mul, scalar: false); return true;
            case Code.Mulss_xmm_xmmm32: SimdArithmetic<SseBinary32>(ref d, SseOperation.Mul, scalar: true); return true;
            case Code.Mulpd_xmm_xmmm128: SimdArithmetic<SseBinary64>(ref d, SseOperation.Mul, scalar: false); return true;
            case Code.Mulsd_xmm_xmmm64: SimdArithmetic<SseBinary64>(ref d, SseOperation.Mul, scalar: true); return true;
            case Code.Divps_xmm_xmmm128: SimdArithmetic<SseBinary32>(ref d, SseOperation.Div, scalar: false); return true;
            case Code.Divss_xmm_xmmm32: SimdArithmetic<SseBinary32>(ref d, SseOperation.Div, scalar: true); return true;
            case Code.Divpd_xmm_xmmm128: SimdArithmetic<SseBinary64>(ref d, SseOperation.Div, scalar: false); return true;
            case Code.Divsd_xmm_xmmm64: SimdArithmetic<SseBinary64>(ref d, SseOperation.Div, scalar: true); return true;
            case Code.Minps_xmm_xmmm128: SimdArithmetic<SseBinary32>(ref d, SseOperation.Min, scalar: false); return true;
            case Code.Minss_xmm_xmmm32: SimdArithmetic<SseBinary32>(ref d, SseOperation.Min, scalar: true); return true;
            case Code.Minpd_xmm_xmmm128: SimdArithmetic<SseBinary64>(ref d, SseOperation.Min, scalar: false); return true;
            case Code.Minsd_xmm_xmmm64: SimdArithmetic<SseBinary64>(ref d, SseOperation.Min, scalar: true); return true;
            case Code.Maxps_xmm_xmmm128: SimdArithmetic<SseBinary32>(ref d, SseOperation.Max, scalar: false); return true;
            case Code.Maxss_xmm_xmmm32: SimdArithmetic<SseBinary32>(ref d, SseOperation.Max, scalar: true); return true;
            case Code.Maxpd_xmm_xmmm128: SimdArithmetic<SseBinary64>(ref d, SseOperation.Max, scalar: false); return true;
            case Code.Maxsd_xmm_xmmm64: SimdArithmetic<SseBinary64>(ref d, SseOperation.Max, scalar: true); return true;
            case Code.Sqrtps_xmm_xmmm128: SimdArithmetic<SseBinary32>(ref d, SseOperation.Sqrt, scalar: false); return true;
            case Code.Sqrtss_xmm_xmmm32: SimdArithmetic<SseBinary32>(ref d, SseOperation.Sqrt, scalar: true); return true;
            case Code.Sqrtpd_xmm_xmmm128: SimdArithmetic<SseBinary64>(ref d, SseOperation.Sqrt, scalar: false); return true;
            case Code.Sqrtsd_xmm_xmmm64: SimdArithmetic<SseBinary64>(ref d, SseOperation.Sqrt, scalar: true); return true;
            case Code.Haddps_xmm_xmmm128: SimdHorizontal<SseBinary32>(ref d, SseOperation.Add); return true;
            case Code.Haddpd_xmm_xmmm128: SimdHorizontal<SseBinary64>(ref d, SseOperation.Add); return true;
            case Code.Hsubps_xmm_xmmm128: SimdHorizontal<SseBinary32>(ref d, SseOperation.Sub); return true;
            case Code.Hsubpd_xmm_xmmm128: SimdHorizontal<SseBinary64>(ref d, SseOperation.Sub); return true;
            case Code.Addsubps_xmm_xmmm128: SimdAddSub<SseBinary32>(ref d); return true;
            case Code.Addsubpd_xmm_xmmm128: SimdAddSub<SseBinary64>(ref d); return true;
            case Code.Dpps_xmm_xmmm128_imm8: SimdDotProduct<SseBinary32>(ref d); return true;
            case Code.Dppd_xmm_xmmm128_imm8: SimdDotProduct<SseBinary64>(ref d); return true;
            case Code.Cmpps_xmm_xmmm128_imm8: SimdCompare<SseBinary32>(ref d, scalar: false); return true;
            case Code.Cmpss_xmm_xmmm32_imm8: SimdCompare<SseBinary32>(ref d, scalar: true); return true;
            case Code.Cmppd_xmm_xmmm128_imm8: SimdCompare<SseBinary64>(ref d, scalar: false); return true;
            case Code.Cmpsd_xmm_xmmm64_imm8: SimdCompare<SseBinary64>(ref d, scalar: true); return true;
            case Code.Comiss_xmm_xmmm32: SimdCompareFlags<SseBinary32>(ref d, signalQuiet: true); return true;
            case Code.Ucomiss_xmm_xmmm32: SimdCompareFlags<SseBinary32>(ref d, signalQuiet: false); return true;
            case Code.Comisd_xmm_xmmm64: SimdCompareFlags<SseBinary64>(ref d, signalQuiet: true); return true;
            case Code.Ucomisd_xmm_xmmm64: SimdCompareFlags<SseBinary64>(ref d, signalQuiet: false); return true;
            case Code.Roundps_xmm_xmmm128_imm8: SimdRound<SseBinary32>(ref d, scalar: false); return true;
            case Code.Roundss_xmm_xmmm32_imm8: SimdRound<SseBinary32>(ref d, scalar: true); return true;
            case Code.Roundpd_xmm_xmmm128_imm8: SimdRound<SseBinary64>(ref d, scalar: false); return true;
            case Code.Roundsd_xmm_xmmm64_imm8: SimdRound<SseBinary64>(ref d, scalar: true); return true;
            case Code.Rcpps_xmm_xmmm128: SimdReciprocal(ref d, squareRoot: false, scalar: false); return true;
            case Code.Rcpss_xmm_xmmm32: SimdReciprocal(ref d, squareRoot: false, scalar: true); return true;
            case Code.Rsqrtps_xmm_xmmm128: SimdReciprocal(ref d, squareRoot: true, scalar: false); return true;
            case Code.Rsqrtss_xmm_xmmm32: SimdReciprocal(ref d, squareRoot: true, scalar: true); return true;
            case Code.Andps_xmm_xmmm128:
            case Code.Andpd_xmm_xmmm128:
            case Code.Andnps_xmm_xmmm128:
            case Code.Andnpd_xmm_xmmm128:
            case Code.Orps_xmm_xmmm128:
            case Code.Orpd_xmm_xmmm128:
            case Code.Xorps_xmm_xmmm128:
            case Code.Xorpd_xmm_xmmm128:
                SimdLogic(ref d);
                return true;
            default:
                return TryExecuteSimdFloatMove(ref d) || TryExecuteSimdFloatConversion(ref d) || TryExecuteSimdState(ref d);
        }
    }

    /// <summary>
    /// Merges an instruction's exception flags into MXCSR and decides whether it may store its result (Intel SDM Vol. 1,
    /// 11.5.1-11.5.2): an unmasked pre-computation exception (IE, DE, ZE) in any lane sets the pre-computation flags of all
    /// lanes and nothing else; otherwise an unmasked post-computation exception (OE, UE, PE) sets every flag found. Both
    /// raise #XM, or #UD when CR4.OSXMMEXCPT is clear (Vol. 3A, 2.5), and leave the destination unchanged.
    /// </summary>
    /// <returns>True when the result may be written.</returns>
    private bool SimdCommitFlags(uint flags)
    {
        uint unmasked = ~(_ctx.Mxcsr >> MxcsrBits.MaskShift) & MxcsrBits.FlagMask;
        uint pre = flags & SimdPreComputationFlags;
        if ((pre & unmasked) != 0)
        {
            _ctx.Mxcsr |= pre;
            RaiseSimdFloatingPointException();
            return false;
        }

        _ctx.Mxcsr |= flags;
        if ((flags & unmasked) != 0)
        {
            RaiseSimdFloatingPointException();
            return false;
        }

        return true;
    }

    private void RaiseSimdFloatingPointException() =>
        RaiseFault((_ctx.Cr4 & Cr4Bits.Osxmmexcpt) != 0 ? VectorSimdFloatingPoint : VectorInvalidOpcode);

    /// <summary>
    /// Operand 1 as <paramref name="size"/> bytes: the whole XMM register, or memory (16 bytes aligned, 8 or 4 bytes in the
    /// low bits without an alignment check).
    /// </summary>
    private bool SimdSourceOperand(ref DecodedInstruction d, int size, out UInt128 value)
    {
        if (d.Kind1 != OperandKind.Memory)
        {
            value = Xmm(d.Reg1);
            return true;
        }

        if (size == 16)
        {
            return SimdRead128(ref d, aligned: true, out value);
        }

        bool ok = SimdReadMemory(ref d, size, out ulong read);
        value = read;
        return ok;
    }

    /// <summary>The lane width of format <typeparamref name="T"/> in bits (32 or 64).</summary>
    private static int LaneBits<T>()
        where T : struct, ISseFormat => T.FractionBits + T.ExponentBits + 1;

    private static ulong GetLane<T>(UInt128 value, int lane)
        where T : struct, ISseFormat
    {
        int bits = LaneBits<T>();
        ulong raw = (ulong)(value >> (lane * bits));
        return bits == 64 ? raw : (uint)raw;
    }

    private static void SetLane<T>(ref UInt128 value, int lane, ulong laneValue)
        where T : struct, ISseFormat
    {
        int bits = LaneBits<T>();
        int shift = lane * bits;
        UInt128 mask = (bits == 64 ? (UInt128)ulong.MaxValue : uint.MaxValue) << shift;
        value = (value & ~mask) | (((UInt128)laneValue << shift) & mask);
    }

    /// <summary>ADDPS ... SQRTSD: every lane (or lane 0 for the scalar forms, the others kept) of dst op src.</summary>
    private void SimdArithmetic<T>(ref DecodedInstruction d, SseOperation operation, bool scalar)
        where T : struct, ISseFormat
    {
        int bits = LaneBits<T>();
        if (!SimdSourceOperand(ref d, scalar ? bits / 8 : 16, out UInt128 source))
        {
            return;
        }

        UInt128 destination = Xmm(d.Reg0);
        UInt128 result = destination;
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        int lanes = scalar ? 1 : 128 / bits;
        for (int i = 0; i < lanes; i++)
        {
            SetLane<T>(ref result, i, SseLanes.Apply<T>(operation, GetLane<T>(destination, i), GetLane<T>(source, i), mxcsr, ref flags));
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }

    /// <summary>HADDPS/HSUBPS/HADDPD/HSUBPD: adjacent pairs of the destination, then of the source (Intel SDM Vol. 2A, HADDPS).</summary>
    private void SimdHorizontal<T>(ref DecodedInstruction d, SseOperation operation)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, 16, out UInt128 source))
        {
            return;
        }

        UInt128 destination = Xmm(d.Reg0);
        int half = 64 / LaneBits<T>();
        UInt128 result = UInt128.Zero;
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        for (int i = 0; i < half; i++)
        {
            SetLane<T>(ref result, i, SseLanes.Apply<T>(operation, GetLane<T>(destination, 2 * i), GetLane<T>(destination, (2 * i) + 1), mxcsr, ref flags));
            SetLane<T>(ref result, half + i, SseLanes.Apply<T>(operation, GetLane<T>(source, 2 * i), GetLane<T>(source, (2 * i) + 1), mxcsr, ref flags));
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }

    /// <summary>ADDSUBPS/ADDSUBPD: even lanes subtract, odd lanes add.</summary>
    private void SimdAddSub<T>(ref DecodedInstruction d)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, 16, out UInt128 source))
        {
            return;
        }

        UInt128 destination = Xmm(d.Reg0);
        UInt128 result = UInt128.Zero;
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        int lanes = 128 / LaneBits<T>();
        for (int i = 0; i < lanes; i++)
        {
            SseOperation operation = (i & 1) == 0 ? SseOperation.Sub : SseOperation.Add;
            SetLane<T>(ref result, i, SseLanes.Apply<T>(operation, GetLane<T>(destination, i), GetLane<T>(source, i), mxcsr, ref flags));
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }

    /// <summary>
    /// DPPS/DPPD: the products selected by imm8[7:4] (others +0.0), each rounded, summed pairwise with a rounding after each
    /// addition in the SDM's order ((p0 + p1) + (p2 + p3)), and written to the lanes imm8[3:0] selects (others +0.0)
    /// (Intel SDM Vol. 2A, DPPS, Operation). The exceptions of all steps are gathered and committed together.
    /// </summary>
    private void SimdDotProduct<T>(ref DecodedInstruction d)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, 16, out UInt128 source))
        {
            return;
        }

        UInt128 destination = Xmm(d.Reg0);
        int lanes = 128 / LaneBits<T>();
        uint imm = d.Imm;
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        Span<ulong> products = stackalloc ulong[4];
        for (int i = 0; i < lanes; i++)
        {
            products[i] = (imm & (0x10u << i)) != 0 ? SseFloat<T>.Mul(GetLane<T>(destination, i), GetLane<T>(source, i), mxcsr, ref flags) : 0;
        }

        ulong sum = SseFloat<T>.Add(products[0], products[1], mxcsr, ref flags);
        if (lanes == 4)
        {
            ulong high = SseFloat<T>.Add(products[2], products[3], mxcsr, ref flags);
            sum = SseFloat<T>.Add(sum, high, mxcsr, ref flags);
        }

        UInt128 result = UInt128.Zero;
        for (int i = 0; i < lanes; i++)
        {
            SetLane<T>(ref result, i, (imm & (1u << i)) != 0 ? sum : 0);
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }

    /// <summary>CMPPS/CMPSS/CMPPD/CMPSD: a mask of all ones or zeros per lane for the predicate imm8[2:0].</summary>
    private void SimdCompare<T>(ref DecodedInstruction d, bool scalar)
        where T : struct, ISseFormat
    {
        int bits = LaneBits<T>();
        if (!SimdSourceOperand(ref d, scalar ? bits / 8 : 16, out UInt128 source))
        {
            return;
        }

        UInt128 destination = Xmm(d.Reg0);
        UInt128 result = destination;
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        int lanes = scalar ? 1 : 128 / bits;
        int predicate = (int)(d.Imm & 7);
        for (int i = 0; i < lanes; i++)
        {
            bool match = SseFloat<T>.Compare(GetLane<T>(destination, i), GetLane<T>(source, i), predicate, mxcsr, ref flags);
            SetLane<T>(ref result, i, match ? ulong.MaxValue : 0);
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }

    /// <summary>
    /// COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF = 111 unordered, 000 greater, 001 less, 100 equal; OF, SF and AF cleared
    /// (Intel SDM Vol. 2A, COMISS). EFLAGS is unchanged when an unmasked exception is raised.
    /// </summary>
    private void SimdCompareFlags<T>(ref DecodedInstruction d, bool signalQuiet)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, LaneBits<T>() / 8, out UInt128 source))
        {
            return;
        }

        uint flags = 0;
        int order = SseFloat<T>.CompareOrdered(GetLane<T>(Xmm(d.Reg0), 0), GetLane<T>(source, 0), signalQuiet, _ctx.Mxcsr, ref flags);
        if (!SimdCommitFlags(flags))
        {
            return;
        }

        uint status = order switch
        {
            SseFloat<T>.Unordered => EflagsBits.Zf | EflagsBits.Pf | EflagsBits.Cf,
            < 0 => EflagsBits.Cf,
            0 => EflagsBits.Zf,
            _ => 0,
        };
        SetStatusFlags(status);
    }

    /// <summary>
    /// ROUNDPS/ROUNDSS/ROUNDPD/ROUNDSD: imm8[1:0] the rounding mode unless imm8[2] selects MXCSR's; imm8[3] suppresses PE
    /// (Intel SDM Vol. 2B, ROUNDPS, Table 4-18).
    /// </summary>
    private void SimdRound<T>(ref DecodedInstruction d, bool scalar)
        where T : struct, ISseFormat
    {
        const uint UseMxcsrRounding = 1u << 2;
        const uint SuppressPrecision = 1u << 3;
        int bits = LaneBits<T>();
        if (!SimdSourceOperand(ref d, scalar ? bits / 8 : 16, out UInt128 source))
        {
            return;
        }

        uint mxcsr = _ctx.Mxcsr;
        uint imm = d.Imm;
        SseRounding mode = (imm & UseMxcsrRounding) != 0 ? SseFloat<T>.Rounding(mxcsr) : (SseRounding)(imm & 3);
        UInt128 result = Xmm(d.Reg0);
        uint flags = 0;
        int lanes = scalar ? 1 : 128 / bits;
        for (int i = 0; i < lanes; i++)
        {
            SetLane<T>(ref result, i, SseFloat<T>.RoundToIntegral(GetLane<T>(source, i), mode, (imm & SuppressPrecision) != 0, mxcsr, ref flags));
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }

    /// <summary>RCPPS/RCPSS/RSQRTPS/RSQRTSS (see <see cref="SseFloat{T}.ReciprocalEstimate"/>): no exceptions.</summary>
    private void SimdReciprocal(ref DecodedInstruction d, bool squareRoot, bool scalar)
    {
        if (!SimdSourceOperand(ref d, scalar ? 4 : 16, out UInt128 source))
        {
            return;
        }

        UInt128 result = Xmm(d.Reg0);
        int lanes = scalar ? 1 : 4;
        for (int i = 0; i < lanes; i++)
        {
            SetLane<SseBinary32>(ref result, i, SseFloat<SseBinary32>.ReciprocalEstimate(GetLane<SseBinary32>(source, i), squareRoot));
        }

        Xmm(d.Reg0) = result;
    }

    /// <summary>ANDPS/ANDNPS/ORPS/XORPS and the PD forms: bitwise, no floating-point exceptions.</summary>
    private void SimdLogic(ref DecodedInstruction d)
    {
        if (!SimdSourceOperand(ref d, 16, out UInt128 source))
        {
            return;
        }

        ref UInt128 destination = ref Xmm(d.Reg0);
        destination = d.Code switch
        {
            Code.Andps_xmm_xmmm128 or Code.Andpd_xmm_xmmm128 => destination & source,
            Code.Andnps_xmm_xmmm128 or Code.Andnpd_xmm_xmmm128 => ~destination & source,
            Code.Orps_xmm_xmmm128 or Code.Orpd_xmm_xmmm128 => destination | source,
            _ => destination ^ source,
        };
    }
}
