using System.Numerics;
using Virt.Cpu.Decoding;
using Virt.Cpu.Simd;

namespace Virt.Cpu;

/// <summary>
/// The general-register instructions that CPUID lists beside SSE: CRC32 (SSE4.2), POPCNT and CLFLUSH. None of them depends on
/// CR0.EM, CR0.TS or CR4.OSFXSR.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>CRC32 r32/r64, r/m8/16/32/64: the CRC-32C of the source folded into the low doubleword, zero-extended.</summary>
    private bool ExecuteCrc32(ref DecodedInstruction d)
    {
        int sourceSize = d.Size1;
        ulong source;
        if (d.Kind1 == OperandKind.Memory)
        {
            if (!SimdReadMemory(ref d, sourceSize, out source))
            {
                return true;
            }
        }
        else
        {
            source = ReadRegister(d.Reg1, sourceSize);
        }

        uint crc = Crc32C.Accumulate((uint)ReadRegister(d.Reg0, 4), source, sourceSize);
        WriteRegister(d.Reg0, d.OpSize, crc);
        return true;
    }

    /// <summary>POPCNT: the number of set bits; ZF when the source is zero, CF, OF, SF, AF and PF cleared (Intel SDM Vol. 2B, POPCNT).</summary>
    private bool ExecutePopcnt(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong source;
        if (d.Kind1 == OperandKind.Memory)
        {
            if (!SimdReadMemory(ref d, size, out source))
            {
                return true;
            }
        }
        else
        {
            source = ReadRegister(d.Reg1, size);
        }

        WriteRegister(d.Reg0, size, (ulong)BitOperations.PopCount(source));
        SetStatusFlags(source == 0 ? EflagsBits.Zf : 0);
        return true;
    }

    /// <summary>
    /// CLFLUSH m8: there is no cache to write back, but the operand is checked as a byte read would be (segment limit, #PF on
    /// a not-present page; Intel SDM Vol. 2A, CLFLUSH "Protected Mode Exceptions"), without touching memory or devices.
    /// </summary>
    private bool ExecuteClflush(ref DecodedInstruction d)
    {
        ulong offset = EffectiveAddress(ref d);
        if (CheckLimit(d.Seg, offset, 1))
        {
            TranslateData(_ctx.SegBase[d.Seg] + offset, write: false, out _);
        }

        return true;
    }
}
