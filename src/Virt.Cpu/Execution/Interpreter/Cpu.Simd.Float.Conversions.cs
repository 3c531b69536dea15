using Iced.Intel;
using Virt.Cpu.Decoding;
using Virt.Cpu.Simd;

namespace Virt.Cpu;

/// <summary>
/// The conversions of SSE and SSE2 between singles, doubles and signed integers (Intel SDM Vol. 1, 11.5.2 and Vol. 2A,
/// CVT*): rounding in MXCSR's mode or truncating (CVTT*), with the integer indefinite value for NaNs and out-of-range values.
/// </summary>
public sealed partial class Cpu
{
    private bool TryExecuteSimdFloatConversion(ref DecodedInstruction d)
    {
        switch (d.Code)
        {
            case Code.Cvtsi2ss_xmm_rm32:
            case Code.Cvtsi2ss_xmm_rm64:
                SimdIntegerToScalar<SseBinary32>(ref d);
                return true;
            case Code.Cvtsi2sd_xmm_rm32:
            case Code.Cvtsi2sd_xmm_rm64:
                SimdIntegerToScalar<SseBinary64>(ref d);
                return true;
            case Code.Cvtss2si_r32_xmmm32:
            case Code.Cvtss2si_r64_xmmm32:
                SimdScalarToInteger<SseBinary32>(ref d, truncate: false);
                return true;
            case Code.Cvttss2si_r32_xmmm32:
            case Code.Cvttss2si_r64_xmmm32:
                SimdScalarToInteger<SseBinary32>(ref d, truncate: true);
                return true;
            case Code.Cvtsd2si_r32_xmmm64:
            case Code.Cvtsd2si_r64_xmmm64:
                SimdScalarToInteger<SseBinary64>(ref d, truncate: false);
                return true;
            case Code.Cvttsd2si_r32_xmmm64:
            case Code.Cvttsd2si_r64_xmmm64:
                SimdScalarToInteger<SseBinary64>(ref d, truncate: true);
                return true;
            case Code.Cvtss2sd_xmm_xmmm32: SimdConvertFormat<SseBinary32, SseBinary64>(ref d, lanes: 1, sourceBytes: 4, keepUpper: true); return true;
            case Code.Cvtsd2ss_xmm_xmmm64: SimdConvertFormat<SseBinary64, SseBinary32>(ref d, lanes: 1, sourceBytes: 8, keepUpper: true); return true;
            case Code.Cvtps2pd_xmm_xmmm64: SimdConvertFormat<SseBinary32, SseBinary64>(ref d, lanes: 2, sourceBytes: 8, keepUpper: false); return true;
            case Code.Cvtpd2ps_xmm_xmmm128: SimdConvertFormat<SseBinary64, SseBinary32>(ref d, lanes: 2, sourceBytes: 16, keepUpper: false); return true;
            case Code.Cvtdq2ps_xmm_xmmm128: SimdPackedIntegerToFloat<SseBinary32>(ref d, lanes: 4, sourceBytes: 16); return true;
            case Code.Cvtdq2pd_xmm_xmmm64: SimdPackedIntegerToFloat<SseBinary64>(ref d, lanes: 2, sourceBytes: 8); return true;
            case Code.Cvtps2dq_xmm_xmmm128: SimdPackedFloatToInteger<SseBinary32>(ref d, truncate: false); return true;
            case Code.Cvttps2dq_xmm_xmmm128: SimdPackedFloatToInteger<SseBinary32>(ref d, truncate: true); return true;
            case Code.Cvtpd2dq_xmm_xmmm128: SimdPackedFloatToInteger<SseBinary64>(ref d, truncate: false); return true;
            case Code.Cvttpd2dq_xmm_xmmm128: SimdPackedFloatToInteger<SseBinary64>(ref d, truncate: true); return true;
            case Code.Cvtpi2ps_xmm_mmm64: SimdConvertFromMmx<SseBinary32>(ref d); return true;
            case Code.Cvtpi2pd_xmm_mmm64: SimdConvertFromMmx<SseBinary64>(ref d); return true;
            case Code.Cvtps2pi_mm_xmmm64: SimdConvertToMmx<SseBinary32>(ref d, truncate: false); return true;
            case Code.Cvttps2pi_mm_xmmm64: SimdConvertToMmx<SseBinary32>(ref d, truncate: true); return true;
            case Code.Cvtpd2pi_mm_xmmm128: SimdConvertToMmx<SseBinary64>(ref d, truncate: false); return true;
            case Code.Cvttpd2pi_mm_xmmm128: SimdConvertToMmx<SseBinary64>(ref d, truncate: true); return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// CVTPI2PS (two singles into the low half, the high half kept) and CVTPI2PD (two doubles): from an MMX register, which
    /// makes the x87-to-MMX transition, or from m64, which does not (Intel SDM Vol. 2A, CVTPI2PS).
    /// </summary>
    private void SimdConvertFromMmx<T>(ref DecodedInstruction d)
        where T : struct, ISseFormat
    {
        bool fromRegister = d.Kind1 != OperandKind.Memory;
        if (!MmxSource(ref d, 8, out ulong source))
        {
            return;
        }

        bool doubles = LaneBits<T>() == 64;
        UInt128 result = doubles ? UInt128.Zero : Xmm(d.Reg0);
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        for (int i = 0; i < 2; i++)
        {
            SetLane<T>(ref result, i, SseFloat<T>.FromInteger((int)(source >> (32 * i)), mxcsr, ref flags));
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
            if (fromRegister)
            {
                MmxTransition();
            }
        }
    }

    /// <summary>CVTPS2PI/CVTTPS2PI (xmm/m64) and CVTPD2PI/CVTTPD2PI (xmm/m128, aligned): two signed doublewords into an MMX register.</summary>
    private void SimdConvertToMmx<T>(ref DecodedInstruction d, bool truncate)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, LaneBits<T>() == 64 ? 16 : 8, out UInt128 source))
        {
            return;
        }

        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        ulong low = SseFloat<T>.ToInteger(GetLane<T>(source, 0), 32, truncate, mxcsr, ref flags);
        ulong high = SseFloat<T>.ToInteger(GetLane<T>(source, 1), 32, truncate, mxcsr, ref flags);
        if (SimdCommitFlags(flags))
        {
            MmWrite(d.Reg0, low | (high << 32));
            MmxTransition();
        }
    }

    /// <summary>CVTSI2SS/CVTSI2SD xmm, r/m32 or r/m64: the low lane from a signed integer, the others kept.</summary>
    private void SimdIntegerToScalar<T>(ref DecodedInstruction d)
        where T : struct, ISseFormat
    {
        int size = d.Size1;
        ulong raw;
        if (d.Kind1 == OperandKind.Memory)
        {
            if (!SimdReadMemory(ref d, size, out raw))
            {
                return;
            }
        }
        else
        {
            raw = ReadRegister(d.Reg1, size);
        }

        long value = size == 8 ? (long)raw : (int)raw;
        uint flags = 0;
        ulong converted = SseFloat<T>.FromInteger(value, _ctx.Mxcsr, ref flags);
        if (SimdCommitFlags(flags))
        {
            SetLane<T>(ref Xmm(d.Reg0), 0, converted);
        }
    }

    /// <summary>CVTSS2SI/CVTTSS2SI/CVTSD2SI/CVTTSD2SI r32 or r64, xmm/m.</summary>
    private void SimdScalarToInteger<T>(ref DecodedInstruction d, bool truncate)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, LaneBits<T>() / 8, out UInt128 source))
        {
            return;
        }

        int width = d.OpSize * 8;
        uint flags = 0;
        ulong value = SseFloat<T>.ToInteger(GetLane<T>(source, 0), width, truncate, _ctx.Mxcsr, ref flags);
        if (SimdCommitFlags(flags))
        {
            WriteRegister(d.Reg0, d.OpSize, value);
        }
    }

    /// <summary>
    /// CVTSS2SD, CVTSD2SS (lane 0, the others kept) and CVTPS2PD, CVTPD2PS (two lanes; CVTPD2PS zeroes the upper half).
    /// </summary>
    private void SimdConvertFormat<TSource, TResult>(ref DecodedInstruction d, int lanes, int sourceBytes, bool keepUpper)
        where TSource : struct, ISseFormat
        where TResult : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, sourceBytes, out UInt128 source))
        {
            return;
        }

        UInt128 result = keepUpper ? Xmm(d.Reg0) : UInt128.Zero;
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        for (int i = 0; i < lanes; i++)
        {
            SetLane<TResult>(ref result, i, SseFloat<TResult>.ConvertFrom<TSource>(GetLane<TSource>(source, i), mxcsr, ref flags));
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }

    /// <summary>CVTDQ2PS (four lanes, PE) and CVTDQ2PD (the low two doublewords, exact).</summary>
    private void SimdPackedIntegerToFloat<T>(ref DecodedInstruction d, int lanes, int sourceBytes)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, sourceBytes, out UInt128 source))
        {
            return;
        }

        UInt128 result = UInt128.Zero;
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        for (int i = 0; i < lanes; i++)
        {
            SetLane<T>(ref result, i, SseFloat<T>.FromInteger((int)GetLane<SseBinary32>(source, i), mxcsr, ref flags));
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }

    /// <summary>CVTPS2DQ/CVTTPS2DQ (four lanes) and CVTPD2DQ/CVTTPD2DQ (two lanes, the upper half zeroed).</summary>
    private void SimdPackedFloatToInteger<T>(ref DecodedInstruction d, bool truncate)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, 16, out UInt128 source))
        {
            return;
        }

        int lanes = 128 / LaneBits<T>();
        UInt128 result = UInt128.Zero;
        uint mxcsr = _ctx.Mxcsr;
        uint flags = 0;
        for (int i = 0; i < lanes; i++)
        {
            SetLane<SseBinary32>(ref result, i, SseFloat<T>.ToInteger(GetLane<T>(source, i), 32, truncate, mxcsr, ref flags));
        }

        if (SimdCommitFlags(flags))
        {
            Xmm(d.Reg0) = result;
        }
    }
}
