using Iced.Intel;
using Virt.Cpu.Decoding;
using Virt.Cpu.Simd;

namespace Virt.Cpu;

/// <summary>
/// The moves of the integer SIMD family (MOVD/MOVQ in every direction, MOVDQA/MOVDQU and the non-temporal stores and loads,
/// MOVQ2DQ/MOVDQ2Q, MASKMOVQ/MASKMOVDQU), lane extracts and inserts, PMOVMSKB and EMMS.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>EMMS: every x87 tag empty; TOP unchanged (Intel SDM Vol. 2A, EMMS).</summary>
    private bool ExecuteEmms()
    {
        _fpu.AbridgedTagWord = MmxAllTagsEmpty;
        return true;
    }

    /// <summary>MOVD mm, r/m32 (zero-extended), MOVQ mm, r/m64 and MOVQ mm, mm/m64.</summary>
    private bool ExecuteMovToMmx(ref DecodedInstruction d)
    {
        ulong value;
        if (d.Code == Code.Movq_mm_mmm64)
        {
            if (!MmxSource(ref d, 8, out value))
            {
                return true;
            }
        }
        else if (!GprOrMemorySource(ref d, d.Code == Code.Movd_mm_rm32 ? 4 : 8, out value))
        {
            return true;
        }

        MmxTransition();
        MmWrite(d.Reg0, value);
        return true;
    }

    /// <summary>MOVD r/m32, mm, MOVQ r/m64, mm, MOVQ mm/m64, mm and MOVNTQ m64, mm.</summary>
    private bool ExecuteMovFromMmx(ref DecodedInstruction d)
    {
        ulong value = MmRead(d.Reg1);
        if (d.Kind0 == OperandKind.Memory)
        {
            int size = d.Code == Code.Movd_rm32_mm ? 4 : 8;
            if (!SimdWriteMemory(ref d, size, value))
            {
                return true;
            }
        }
        else if (d.Code == Code.Movq_mmm64_mm)
        {
            MmWrite(d.Reg0, value);
        }
        else
        {
            WriteRegister(d.Reg0, d.Code == Code.Movd_rm32_mm ? 4 : 8, value);
        }

        MmxTransition();
        return true;
    }

    /// <summary>MOVD xmm, r/m32, MOVQ xmm, r/m64 and MOVQ xmm, xmm/m64: the low bits written, the rest of the register zeroed.</summary>
    private bool ExecuteMovZeroExtendToXmm(ref DecodedInstruction d)
    {
        int size = d.Code == Code.Movd_xmm_rm32 ? 4 : 8;
        ulong value;
        if (d.Code == Code.Movq_xmm_xmmm64)
        {
            if (!XmmSourceNarrow(ref d, 8, out UInt128 source))
            {
                return true;
            }

            value = (ulong)source;
        }
        else if (!GprOrMemorySource(ref d, size, out value))
        {
            return true;
        }

        Xmm(d.Reg0) = value;
        return true;
    }

    /// <summary>MOVD r/m32, xmm, MOVQ r/m64, xmm and MOVQ xmm/m64, xmm (to a register: the upper quadword zeroed).</summary>
    private bool ExecuteMovFromXmmLow(ref DecodedInstruction d)
    {
        ulong value = (ulong)Xmm(d.Reg1);
        int size = d.Code == Code.Movd_rm32_xmm ? 4 : 8;
        if (d.Kind0 == OperandKind.Memory)
        {
            SimdWriteMemory(ref d, size, size == 4 ? (uint)value : value);
        }
        else if (d.Code == Code.Movq_xmmm64_xmm)
        {
            Xmm(d.Reg0) = value;
        }
        else
        {
            WriteRegister(d.Reg0, size, value);
        }

        return true;
    }

    /// <summary>MOVDQA/MOVNTDQA (aligned) and MOVDQU/LDDQU (unaligned) loads.</summary>
    private bool ExecuteMovToXmm(ref DecodedInstruction d, bool aligned)
    {
        if (SimdSource128(ref d, aligned, out UInt128 value))
        {
            Xmm(d.Reg0) = value;
        }

        return true;
    }

    /// <summary>MOVDQA/MOVNTDQ (aligned) and MOVDQU (unaligned) stores, or register-to-register moves.</summary>
    private bool ExecuteMovFromXmm(ref DecodedInstruction d, bool aligned)
    {
        UInt128 value = Xmm(d.Reg1);
        if (d.Kind0 == OperandKind.Memory)
        {
            SimdWrite128(ref d, aligned, value);
        }
        else
        {
            Xmm(d.Reg0) = value;
        }

        return true;
    }

    /// <summary>MOVQ2DQ xmm, mm: the MMX register zero-extended into the XMM register (an MMX transition).</summary>
    private bool ExecuteMovq2dq(ref DecodedInstruction d)
    {
        MmxTransition();
        Xmm(d.Reg0) = MmRead(d.Reg1);
        return true;
    }

    /// <summary>MOVDQ2Q mm, xmm: the low quadword into the MMX register.</summary>
    private bool ExecuteMovdq2q(ref DecodedInstruction d)
    {
        MmxTransition();
        MmWrite(d.Reg0, (ulong)Xmm(d.Reg1));
        return true;
    }

    /// <summary>MOVNTI m32/m64, r: a plain store here (the non-temporal hint has no architectural effect).</summary>
    private bool ExecuteMovnti(ref DecodedInstruction d)
    {
        SimdWriteMemory(ref d, d.Size1, ReadRegister(d.Reg1, d.Size1));
        return true;
    }

    /// <summary>
    /// MASKMOVQ/MASKMOVDQU: the bytes of operand 1 whose mask byte (operand 2) has bit 7 set, stored at DS:(E)DI (segment
    /// override allowed). The whole span from the first to the last selected byte is checked before any byte is stored, so a
    /// fault leaves memory unchanged; an all-zero mask touches nothing (the SDM leaves its faults implementation-specific).
    /// </summary>
    private bool ExecuteMaskedMove(ref DecodedInstruction d, bool mmx)
    {
        UInt128 data;
        UInt128 mask;
        if (mmx)
        {
            data = MmRead(d.Reg1);
            mask = MmRead(d.Reg2);
            MmxTransition();
        }
        else
        {
            data = Xmm(d.Reg1);
            mask = Xmm(d.Reg2);
        }

        int length = mmx ? 8 : 16;
        uint selected = PackedInteger.Pmovmskb(Bytes(ref mask)[..length]);
        if (selected == 0)
        {
            return true;
        }

        int first = System.Numerics.BitOperations.TrailingZeroCount(selected);
        int last = 31 - System.Numerics.BitOperations.LeadingZeroCount(selected);
        // The implicit destination is DS:DI, DS:EDI or RDI by the address size (Intel SDM Vol. 2B, MASKMOVDQU).
        ulong rdi = Gpr((int)GeneralRegister.Rdi);
        ulong address = d.AddrSize switch
        {
            2 => (ushort)rdi,
            4 => (uint)rdi,
            _ => rdi,
        };
        if (!SimdProbeWrite(d.Seg, address + (uint)first, last - first + 1))
        {
            return true;
        }

        Span<byte> bytes = Bytes(ref data);
        for (int i = first; i <= last; i++)
        {
            if (((selected >> i) & 1) != 0)
            {
                WriteMem(d.Seg, address + (uint)i, 1, bytes[i]);
            }
        }

        return true;
    }

    /// <summary>PMOVMSKB r32/r64, mm/xmm: the byte sign bits, zero-extended.</summary>
    private bool ExecutePmovmskb(ref DecodedInstruction d)
    {
        uint mask;
        if (d.Code is Code.Pmovmskb_r32_mm or Code.Pmovmskb_r64_mm)
        {
            MmxTransition();
            ulong value = MmRead(d.Reg1);
            mask = PackedInteger.Pmovmskb(Bytes(ref value));
        }
        else
        {
            UInt128 value = Xmm(d.Reg1);
            mask = PackedInteger.Pmovmskb(Bytes(ref value));
        }

        WriteRegister(d.Reg0, d.OpSize, mask);
        return true;
    }

    /// <summary>
    /// PEXTRB/PEXTRW/PEXTRD/PEXTRQ: the lane selected by imm8 (modulo the lane count) into a general register, zero-extended,
    /// or into memory at the lane's width.
    /// </summary>
    private bool ExecutePextr(ref DecodedInstruction d, int laneBytes, bool mmx)
    {
        ulong value;
        if (mmx)
        {
            MmxTransition();
            ulong register = MmRead(d.Reg1);
            value = PackedInteger.Extract(Bytes(ref register), laneBytes, (byte)d.Imm);
        }
        else
        {
            UInt128 register = Xmm(d.Reg1);
            value = PackedInteger.Extract(Bytes(ref register), laneBytes, (byte)d.Imm);
        }

        if (d.Kind0 == OperandKind.Memory)
        {
            SimdWriteMemory(ref d, laneBytes, value);
        }
        else
        {
            WriteRegister(d.Reg0, Math.Max((int)d.OpSize, 4), value);
        }

        return true;
    }

    /// <summary>PINSRB/PINSRW/PINSRD/PINSRQ: the low bits of a general register, or a lane-wide memory operand, into the lane imm8 selects.</summary>
    private bool ExecutePinsr(ref DecodedInstruction d, int laneBytes, bool mmx)
    {
        if (!GprOrMemorySource(ref d, laneBytes, out ulong value))
        {
            return true;
        }

        if (mmx)
        {
            MmxTransition();
            ulong register = MmRead(d.Reg0);
            PackedInteger.Insert(Bytes(ref register), laneBytes, value, (byte)d.Imm);
            MmWrite(d.Reg0, register);
        }
        else
        {
            PackedInteger.Insert(Bytes(ref Xmm(d.Reg0)), laneBytes, value, (byte)d.Imm);
        }

        return true;
    }

    /// <summary>Operand 1 as a general register (its low <paramref name="size"/> bytes) or <paramref name="size"/> bytes of memory.</summary>
    private bool GprOrMemorySource(ref DecodedInstruction d, int size, out ulong value)
    {
        if (d.Kind1 == OperandKind.Memory)
        {
            return SimdReadMemory(ref d, size, out value);
        }

        value = ReadRegister(d.Reg1, Math.Max(d.Size1, (byte)size)) & SizeMask(size);
        return true;
    }
}
