using Iced.Intel;
using Virt.Cpu.Decoding;
using Virt.Cpu.Simd;

namespace Virt.Cpu;

/// <summary>
/// The floating-point data movement of SSE, SSE2, SSE3 and SSE4.1: MOVAPS ... MOVNTPD, the half and scalar moves, MOVMSKPS,
/// the shuffles, unpacks and duplicates, blends, INSERTPS and EXTRACTPS. None of them raises a floating-point exception.
/// </summary>
public sealed partial class Cpu
{
    private bool TryExecuteSimdFloatMove(ref DecodedInstruction d)
    {
        switch (d.Code)
        {
            case Code.Movaps_xmm_xmmm128:
            case Code.Movapd_xmm_xmmm128:
                SimdLoad128(ref d, aligned: true);
                return true;
            case Code.Movups_xmm_xmmm128:
            case Code.Movupd_xmm_xmmm128:
                SimdLoad128(ref d, aligned: false);
                return true;
            case Code.Movaps_xmmm128_xmm:
            case Code.Movapd_xmmm128_xmm:
            case Code.Movntps_m128_xmm:
            case Code.Movntpd_m128_xmm:
                SimdStore128(ref d, aligned: true);
                return true;
            case Code.Movups_xmmm128_xmm:
            case Code.Movupd_xmmm128_xmm:
                SimdStore128(ref d, aligned: false);
                return true;
            case Code.Movss_xmm_xmmm32: SimdMoveScalar(ref d, 4); return true;
            case Code.Movsd_xmm_xmmm64: SimdMoveScalar(ref d, 8); return true;
            case Code.Movss_xmmm32_xmm: SimdStoreScalar(ref d, 4); return true;
            case Code.Movsd_xmmm64_xmm: SimdStoreScalar(ref d, 8); return true;
            case Code.Movlps_xmm_m64:
            case Code.Movlpd_xmm_m64:
                SimdLoadHalf(ref d, high: false);
                return true;
            case Code.Movhps_xmm_m64:
            case Code.Movhpd_xmm_m64:
                SimdLoadHalf(ref d, high: true);
                return true;
            case Code.Movlps_m64_xmm:
            case Code.Movlpd_m64_xmm:
                SimdWriteMemory(ref d, 8, (ulong)Xmm(d.Reg1));
                return true;
            case Code.Movhps_m64_xmm:
            case Code.Movhpd_m64_xmm:
                SimdWriteMemory(ref d, 8, (ulong)(Xmm(d.Reg1) >> 64));
                return true;
            case Code.Movhlps_xmm_xmm:
                Lane64(ref Xmm(d.Reg0), 0) = (ulong)(Xmm(d.Reg1) >> 64);
                return true;
            case Code.Movlhps_xmm_xmm:
                Lane64(ref Xmm(d.Reg0), 1) = (ulong)Xmm(d.Reg1);
                return true;
            case Code.Movmskps_r32_xmm:
            case Code.Movmskps_r64_xmm:
                SimdMoveMask<SseBinary32>(ref d);
                return true;
            case Code.Movmskpd_r32_xmm:
            case Code.Movmskpd_r64_xmm:
                SimdMoveMask<SseBinary64>(ref d);
                return true;
            case Code.Movddup_xmm_xmmm64:
            case Code.Movsldup_xmm_xmmm128:
            case Code.Movshdup_xmm_xmmm128:
                SimdDuplicate(ref d);
                return true;
            case Code.Shufps_xmm_xmmm128_imm8: SimdShuffle<SseBinary32>(ref d); return true;
            case Code.Shufpd_xmm_xmmm128_imm8: SimdShuffle<SseBinary64>(ref d); return true;
            case Code.Unpcklps_xmm_xmmm128: SimdUnpack<SseBinary32>(ref d, high: false); return true;
            case Code.Unpckhps_xmm_xmmm128: SimdUnpack<SseBinary32>(ref d, high: true); return true;
            case Code.Unpcklpd_xmm_xmmm128: SimdUnpack<SseBinary64>(ref d, high: false); return true;
            case Code.Unpckhpd_xmm_xmmm128: SimdUnpack<SseBinary64>(ref d, high: true); return true;
            case Code.Blendps_xmm_xmmm128_imm8: SimdBlend<SseBinary32>(ref d, variable: false); return true;
            case Code.Blendpd_xmm_xmmm128_imm8: SimdBlend<SseBinary64>(ref d, variable: false); return true;
            case Code.Blendvps_xmm_xmmm128: SimdBlend<SseBinary32>(ref d, variable: true); return true;
            case Code.Blendvpd_xmm_xmmm128: SimdBlend<SseBinary64>(ref d, variable: true); return true;
            case Code.Insertps_xmm_xmmm32_imm8: SimdInsertps(ref d); return true;
            case Code.Extractps_rm32_xmm_imm8:
            case Code.Extractps_r64m32_xmm_imm8:
                SimdExtractps(ref d);
                return true;
            default:
                return false;
        }
    }

    /// <summary>MOVAPS/MOVUPS xmm, xmm/m128.</summary>
    private void SimdLoad128(ref DecodedInstruction d, bool aligned)
    {
        if (d.Kind1 != OperandKind.Memory)
        {
            Xmm(d.Reg0) = Xmm(d.Reg1);
        }
        else if (SimdRead128(ref d, aligned, out UInt128 value))
        {
            Xmm(d.Reg0) = value;
        }
    }

    /// <summary>MOVAPS/MOVUPS/MOVNTPS xmm/m128, xmm.</summary>
    private void SimdStore128(ref DecodedInstruction d, bool aligned)
    {
        if (d.Kind0 != OperandKind.Memory)
        {
            Xmm(d.Reg0) = Xmm(d.Reg1);
        }
        else
        {
            SimdWrite128(ref d, aligned, Xmm(d.Reg1));
        }
    }

    /// <summary>MOVSS/MOVSD xmm, xmm/m: a register source replaces the low lane only; a memory source zeroes the rest.</summary>
    private void SimdMoveScalar(ref DecodedInstruction d, int size)
    {
        UInt128 laneMask = size == 8 ? ulong.MaxValue : uint.MaxValue;
        if (d.Kind1 != OperandKind.Memory)
        {
            ref UInt128 destination = ref Xmm(d.Reg0);
            destination = (destination & ~laneMask) | (Xmm(d.Reg1) & laneMask);
        }
        else if (SimdReadMemory(ref d, size, out ulong value))
        {
            Xmm(d.Reg0) = value;
        }
    }

    /// <summary>MOVSS/MOVSD xmm/m, xmm.</summary>
    private void SimdStoreScalar(ref DecodedInstruction d, int size)
    {
        if (d.Kind0 != OperandKind.Memory)
        {
            UInt128 laneMask = size == 8 ? ulong.MaxValue : uint.MaxValue;
            ref UInt128 destination = ref Xmm(d.Reg0);
            destination = (destination & ~laneMask) | (Xmm(d.Reg1) & laneMask);
        }
        else
        {
            SimdWriteMemory(ref d, size, (ulong)Xmm(d.Reg1) & (size == 8 ? ulong.MaxValue : uint.MaxValue));
        }
    }

    /// <summary>MOVLPS/MOVHPS/MOVLPD/MOVHPD xmm, m64: one half from memory, the other kept.</summary>
    private void SimdLoadHalf(ref DecodedInstruction d, bool high)
    {
        if (SimdReadMemory(ref d, 8, out ulong value))
        {
            Lane64(ref Xmm(d.Reg0), high ? 1 : 0) = value;
        }
    }

    /// <summary>MOVMSKPS/MOVMSKPD: the lanes' sign bits into a general register, zero-extended.</summary>
    private void SimdMoveMask<T>(ref DecodedInstruction d)
        where T : struct, ISseFormat
    {
        UInt128 source = Xmm(d.Reg1);
        int bits = LaneBits<T>();
        uint mask = 0;
        for (int i = 0; i < 128 / bits; i++)
        {
            mask |= (uint)(GetLane<T>(source, i) >> (bits - 1)) << i;
        }

        WriteRegister(d.Reg0, d.OpSize, mask);
    }

    /// <summary>MOVDDUP (low quadword twice), MOVSLDUP (even singles twice), MOVSHDUP (odd singles twice).</summary>
    private void SimdDuplicate(ref DecodedInstruction d)
    {
        bool movddup = d.Code == Code.Movddup_xmm_xmmm64;
        if (!SimdSourceOperand(ref d, movddup ? 8 : 16, out UInt128 source))
        {
            return;
        }

        UInt128 result = UInt128.Zero;
        if (movddup)
        {
            ulong low = (ulong)source;
            result = new UInt128(low, low);
        }
        else
        {
            int odd = d.Code == Code.Movshdup_xmm_xmmm128 ? 1 : 0;
            for (int i = 0; i < 4; i++)
            {
                SetLane<SseBinary32>(ref result, i, GetLane<SseBinary32>(source, (i & ~1) + odd));
            }
        }

        Xmm(d.Reg0) = result;
    }

    /// <summary>SHUFPS/SHUFPD: the low half's lanes from the destination, the high half's from the source, chosen by imm8.</summary>
    private void SimdShuffle<T>(ref DecodedInstruction d)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, 16, out UInt128 source))
        {
            return;
        }

        UInt128 destination = Xmm(d.Reg0);
        int lanes = 128 / LaneBits<T>();
        int selectorBits = lanes == 4 ? 2 : 1;
        uint imm = d.Imm;
        UInt128 result = UInt128.Zero;
        for (int i = 0; i < lanes; i++)
        {
            int index = (int)(imm >> (i * selectorBits)) & (lanes - 1);
            SetLane<T>(ref result, i, GetLane<T>(i < lanes / 2 ? destination : source, index));
        }

        Xmm(d.Reg0) = result;
    }

    /// <summary>UNPCKLPS/UNPCKHPS/UNPCKLPD/UNPCKHPD: the low (or high) lanes of destination and source interleaved.</summary>
    private void SimdUnpack<T>(ref DecodedInstruction d, bool high)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, 16, out UInt128 source))
        {
            return;
        }

        UInt128 destination = Xmm(d.Reg0);
        int lanes = 128 / LaneBits<T>();
        int first = high ? lanes / 2 : 0;
        UInt128 result = UInt128.Zero;
        for (int i = 0; i < lanes / 2; i++)
        {
            SetLane<T>(ref result, 2 * i, GetLane<T>(destination, first + i));
            SetLane<T>(ref result, (2 * i) + 1, GetLane<T>(source, first + i));
        }

        Xmm(d.Reg0) = result;
    }

    /// <summary>BLENDPS/BLENDPD (imm8 selects) and BLENDVPS/BLENDVPD (the sign bits of XMM0's lanes select the source).</summary>
    private void SimdBlend<T>(ref DecodedInstruction d, bool variable)
        where T : struct, ISseFormat
    {
        if (!SimdSourceOperand(ref d, 16, out UInt128 source))
        {
            return;
        }

        int bits = LaneBits<T>();
        UInt128 selector = Xmm(0);
        UInt128 result = Xmm(d.Reg0);
        for (int i = 0; i < 128 / bits; i++)
        {
            bool take = variable ? (GetLane<T>(selector, i) >> (bits - 1)) != 0 : (d.Imm & (1u << i)) != 0;
            if (take)
            {
                SetLane<T>(ref result, i, GetLane<T>(source, i));
            }
        }

        Xmm(d.Reg0) = result;
    }

    /// <summary>
    /// INSERTPS: a single (lane imm8[7:6] of a register source, or the m32) into lane imm8[5:4], then the lanes of imm8[3:0]
    /// zeroed (Intel SDM Vol. 2A, INSERTPS).
    /// </summary>
    private void SimdInsertps(ref DecodedInstruction d)
    {
        uint imm = d.Imm;
        ulong value;
        if (d.Kind1 != OperandKind.Memory)
        {
            value = GetLane<SseBinary32>(Xmm(d.Reg1), (int)(imm >> 6) & 3);
        }
        else if (!SimdReadMemory(ref d, 4, out value))
        {
            return;
        }

        UInt128 result = Xmm(d.Reg0);
        SetLane<SseBinary32>(ref result, (int)(imm >> 4) & 3, value);
        for (int i = 0; i < 4; i++)
        {
            if ((imm & (1u << i)) != 0)
            {
                SetLane<SseBinary32>(ref result, i, 0);
            }
        }

        Xmm(d.Reg0) = result;
    }

    /// <summary>EXTRACTPS r/m32, xmm, imm8: lane imm8[1:0] to a general register (zero-extended) or to memory.</summary>
    private void SimdExtractps(ref DecodedInstruction d)
    {
        ulong value = GetLane<SseBinary32>(Xmm(d.Reg1), (int)d.Imm & 3);
        if (d.Kind0 == OperandKind.Memory)
        {
            SimdWriteMemory(ref d, 4, value);
        }
        else
        {
            WriteRegister(d.Reg0, d.OpSize, value);
        }
    }
}
